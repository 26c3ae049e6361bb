/**
 * The aggregate tier's minimum population (SPEC §5 step 5, AGG_MIN_POPULATION; #27), read by the
 * verifier from the table itself, with its own arithmetic (not the engine's margins query).
 *
 * Every person behind the table is behind at least one of its cells, and every person behind a
 * value of a dimension (a row or column) is behind at least one cell with that value. A shown count
 * n (rounded to the nearest 5) stands for at most n + 2 persons, a `*` for at most 7 (0 shown as `*`
 * too). So the sum of those maxima over a row is an upper bound of the persons behind it: below the
 * minimum, the release provably breaks the rule. Sound (a good release is never refused); the bound is
 * loose where a dimension is per event (`year`, `code`: a person in several cells of a row).
 */

/** Most persons a shown cell may stand for: `*` is 0–7, a count n rounded to 5 is n − 2 … n + 2. */
export const MAX_BEHIND_STAR = 7;
const ROUNDING_SLACK = 2;

export const mostBehind = (shown: string): number =>
  shown === '*' ? MAX_BEHIND_STAR : Number(shown) + ROUNDING_SLACK;

/**
 * The first table or dimension value whose persons, at most, are fewer than `min`: undefined when
 * none. `cells`: each cell's dimension values and its shown count.
 */
export function populationBelowMinimum(
  dims: string[],
  cells: { key: string[]; shown: string }[],
  min: number,
  /**
   * Keys (JSON of the values) of cells whose shown value bounds nothing, per the cell ledger the
   * verifier held against the file: a `*` holding more than 7 (secondary suppression, or held to an
   * earlier `*`), and a figure held from an earlier table (the aggregate differencing guard): unbounded.
   */
  largeHidden: ReadonlySet<string> = new Set(),
): string | undefined {
  const most = (c: { key: string[]; shown: string }) =>
    largeHidden.size && largeHidden.has(JSON.stringify(c.key)) ? Infinity : mostBehind(c.shown);
  const total = cells.reduce((n, c) => n + most(c), 0);
  if (total < min) return `the table has at most ${total} persons behind it, fewer than ${min}`;
  for (let d = 0; d < dims.length; d++) {
    const byValue = new Map<string, number>();
    for (const c of cells) byValue.set(c.key[d], (byValue.get(c.key[d]) ?? 0) + most(c));
    for (const [, most] of byValue)
      if (most < min)
        return `a value of ${dims[d]} has at most ${most} persons behind it, fewer than ${min} (AGG_MIN_POPULATION)`;
  }
  return undefined;
}
