import type { PopulationMargin } from '../aggregate-threshold';
import { asRead, dimensionValues, type ValueCount } from './aggregate-recount';

/** The table's values of each dimension, as the SQL gives them (`asRead` of what the file shows). */
export const keptValues = (dims: string[], cells: { key: string[] }[]): string[][] => {
  const written = dimensionValues(cells);
  return dims.map((_, d) => [...(written[d] ?? [])].map(asRead));
};

/**
 * The aggregate table's values against the minimum population (SPEC §5 step 5; #27, review-27 and
 * review-29), from the verifier's own counts of each value's distinct persons (aggregate-recount.ts)
 * and each comparison's own threshold (AGG_MIN_POPULATION + its keyed offset):
 *
 * - every value the table keeps, and the table, has at least its threshold of persons behind it,
 *   counting only events all of whose values the table kept (a value of a per-event dimension, `year`
 *   or `code`, bounded from its cells alone passed with 60 persons: review-29);
 * - the table left out no value it had to keep: the values it kept are the largest set each of which
 *   meets its threshold so counted. Checked as the engine builds it — from every value the recount
 *   sees, those under their thresholds left out, again until none is — except that a value the table
 *   kept is never left out (it meets its threshold counting the table's values, hence any more): so a
 *   round is needed only while a value the table left out still meets its own, and the first round,
 *   over every value, is run for every table (one person's value left out adds no statement: a
 *   statement run only then made the release's duration tell it, review-29). Values that only
 *   support each other (a code only in 2001, 2001 only that code) left out together failed a check
 *   that counted each against the table's values alone.
 *
 * Returns what is wrong (no count: the reason is for staff, and counts are exact), else undefined.
 */
export async function valuesProblem(
  dims: string[],
  cells: { key: string[] }[],
  count: (values: { within: string[][] | null; kept: string[][] }) => Promise<ValueCount[]>,
  threshold: (margin: PopulationMargin) => number,
): Promise<string | undefined> {
  const kept = keptValues(dims, cells);
  const inTable = kept.map((k) => new Set(k));
  const thresholdOf = (c: { dimension: number; value: string }) =>
    threshold(c.dimension < 0 ? null : { dimension: dims[c.dimension], value: c.value });
  let within: string[][] | null = null;
  for (;;) {
    const counts = await count({ within, kept });
    if (!within) {
      const byValue = new Map(counts.map((c) => [`${c.dimension}:${c.value}`, c.kept]));
      const table = { dimension: -1, value: '' };
      if ((byValue.get('-1:') ?? 0) < thresholdOf(table))
        return 'the table has fewer persons behind it than its threshold, counting the values it kept';
      for (let d = 0; d < dims.length; d++)
        for (const value of kept[d])
          if ((byValue.get(`${d}:${value}`) ?? 0) < thresholdOf({ dimension: d, value }))
            return `a value of ${dims[d]} in the table has fewer persons behind it than its threshold, counting the values the table kept`;
    }
    const still = dims.map(() => [] as string[]);
    for (const c of counts)
      if (c.dimension >= 0 && !inTable[c.dimension].has(c.value) && c.within >= thresholdOf(c))
        still[c.dimension].push(c.value);
    if (still.every((s) => !s.length)) return undefined;
    const next = kept.map((k, d) => [...k, ...still[d]]);
    if (within && next.every((n, d) => n.length === within![d].length))
      return `values left out of the table (of ${dims.filter((_, d) => still[d].length).join(', ')}) each have at least their thresholds of persons behind them, counting the values kept and each other`;
    within = next;
  }
}
