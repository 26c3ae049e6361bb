import type { ReleaseSpec } from '../release.types';
import { populationBelowMinimum } from './aggregate-population';
import type { PopulationMargin } from '../aggregate-threshold';
import { RecountedCell, recountProblem, type ValueCount } from './aggregate-recount';
import { keptValues, valuesProblem } from './aggregate-values';
import { fieldsOf } from './csv-stream';
import { readCsv } from './file-checks';
import { fail } from './verification-failure';
import {
  aggregateCellProblem,
  crossProductProblem,
  holdsNhsNumber,
  loneSuppressedCell,
  MAYBE_NHS_NUMBER,
} from './verifier-rules';

/** The aggregate tier's file check (`verify-release.ts` runs it); the record-level files' are file-checks.ts. */

/** The aggregate table: its header, every cell as disclosure control allows, no lone suppressed cell. */
export async function checkAggregate(
  file: string,
  name: string,
  spec: ReleaseSpec,
  checks: Set<string>,
  /**
   * AGG_MIN_POPULATION and the width of its keyed margin (AGG_MIN_POPULATION_MARGIN): a value the
   * table left out must have fewer than both together behind it.
   */
  population: { min: number; width: number },
  /** The aggregate differencing rule (#25), checked on the cells read (aggregate-difference-check.ts). */
  difference?: (cells: { key: string[]; shown: string }[]) => Promise<{
    problem?: string;
    otherCells?: boolean;
    comparedWith: string[];
    largeHidden: ReadonlySet<string>;
    held: ReadonlyMap<string, number>;
  }>,
  /**
   * The verifier's own count of each cell (aggregate-recount.ts), run while the file is read; of
   * the table and each value (aggregate-values.ts); and each comparison's threshold.
   */
  recount?: {
    cells: () => Promise<RecountedCell[]>;
    values: (values: { within: string[][] | null; kept: string[][] }) => Promise<ValueCount[]>;
    threshold: (margin: PopulationMargin) => number;
  },
) {
  const minPopulation = population.min;
  // Started now, settled at once (a failure is thrown where it is awaited, after the file's reading).
  const recounted = recount?.cells().then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  const dims = spec.aggregation?.dimensions ?? [];
  const header = [...dims, 'patients'];
  const cells: { key: string[]; suppressed: boolean; shown: string }[] = [];
  const result = await readCsv(file, true, (line, i, quoted, maybe) => {
    const f = fieldsOf(line, quoted);
    if (i === 0) {
      if (f.join(',') !== header.join(','))
        fail('aggregate', `${name}: header is not the dimensions then patients`);
      return;
    }
    if (f.length !== header.length)
      fail('format', `${name} row ${i} has ${f.length} fields, not ${header.length}`);
    const value = f[dims.length];
    const problem = aggregateCellProblem(value);
    if (problem) fail('aggregate', `${name} row ${i}: ${problem}`);
    if (maybe[0] && MAYBE_NHS_NUMBER.test(line))
      for (const v of f)
        if (holdsNhsNumber(v)) fail('identifiers by tier', `${name} row ${i}: a raw NHS number`);
    cells.push({ key: f.slice(0, dims.length), suppressed: value === '*', shown: value });
  });
  // The values' first count (every table gets it), started as soon as the table's values are known,
  // beside the cells' recount: one after the other they added 2.5-4.8 s at 100k persons.
  const firstValues = recount?.values({ within: null, kept: keptValues(dims, cells) }).then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  const lone = loneSuppressedCell(cells);
  if (lone !== undefined)
    fail(
      'aggregate',
      `${name}: a lone suppressed cell along ${dims[lone] ?? 'the table'} could be recovered from its total`,
    );
  const gap = crossProductProblem(cells.map((c) => c.key));
  if (gap) fail('aggregate', `${name}: ${gap}`);
  // The ledger first: which cells show a held figure (their ledger counts go to the recount), which
  // `*` hold more than 7; both are unbounded in the population bound. A ledger of other cells than
  // the file's fails after the file's own checks.
  const diff = await difference?.(cells);
  if (diff?.problem && !diff.otherCells) fail('aggregate differencing', `${name}: ${diff.problem}`);
  const counts = await recounted;
  if (counts && 'error' in counts) throw counts.error;
  const small = populationBelowMinimum(dims, cells, minPopulation, diff?.largeHidden);
  if (counts) {
    const wrong = recountProblem(cells, counts.value, diff?.held);
    if (wrong) fail('aggregate', `${name}: ${wrong}`);
    // The file's own bound first (below the minimum whatever the counts), then the values' recount.
    if (small) fail('aggregate', `${name}: ${small}`);
    const values = await valuesProblem(
      dims,
      cells,
      async (q) => {
        if (q.within) return recount!.values(q);
        const first = (await firstValues)!;
        if ('error' in first) throw first.error;
        return first.value;
      },
      recount!.threshold,
    );
    if (values) fail('aggregate', `${name}: ${values}`);
    checks.add(
      "aggregate recount: every count shown is the verifier's own count of the cell's distinct persons (its own SQL over the sources, in the release's snapshot, Type 1 objectors and their rows left out) over 7 and rounded to 5, or, for a cell holding an earlier table's figure, the ledger's count is the recount's; every cell with persons in it is in the table, or one of its values was left out; the table and every value it kept have at least their thresholds (AGG_MIN_POPULATION + the keyed margin) of persons behind them counting the values kept, and no value left out could have been kept (the verifier's own leave-out from every value)",
    );
  }
  if (small) fail('aggregate', `${name}: ${small}`);
  if (diff?.problem) fail('aggregate differencing', `${name}: ${diff.problem}`);
  if (diff)
    checks.add(
      `aggregate differencing: the cell ledger describes the file; every cell within 7 persons of a cell of another aggregate table to the organisation (any dimensions) shows the nearest such cell's figure or * (${diff.comparedWith.length} compared)`,
    );
  checks.add(
    `aggregate minimum population: at most the persons the cells can stand for, behind the table and each row and column, are at least ${minPopulation}`,
  );
  checks.add(
    "aggregate cells: every cell of the dimensions' cross-product; * or multiples of 5 of at least 10; no lone suppressed cell in a row or column",
  );
  return { ...result, persons: 0 };
}
