import type { Cell } from './disclosure-control';

/**
 * The cells of an aggregate table (SPEC §5 step 5, #27): every cell of the cross-product of the
 * requested dimensions' values present in the cohort's population, the empty ones with a count of
 * 0 — which disclosure control shows as `*`, like 1–7 — so that a `*` never means "someone is
 * here" and the table's rows do not depend on whether any one person exists.
 *
 * The dimensions' values are those present in the population (each behind at least
 * AGG_MIN_POPULATION persons, checked before), not those of the non-empty cells: a value seen
 * only in a cell would again say that someone has it.
 */

/**
 * At most this many cells in one table (the cross-product of the dimensions' values): a table is
 * built in memory for secondary suppression. Past it the release fails (`AGG_TABLE_TOO_LARGE`)
 * rather than show only the non-empty cells.
 */
export const AGG_MAX_CELLS = 1_000_000;

/** The number of cells of the cross-product (1 for a table without dimensions). */
export const crossProductSize = (domains: string[][]): number => domains.reduce((n, d) => n * d.length, 1);

/**
 * Every cell of the cross-product of `domains` (one list of values per dimension, in the table's
 * order), in lexicographic order of the values' positions in their lists (the lists' order, as
 * `ORDER BY 1, 2, …` of them), with the count of the matching cell of `counts`, else 0. A counted
 * cell whose key is not in the cross-product is an error (its value was not in the population).
 */
export function crossProductCells(domains: string[][], counts: Cell[]): Cell[] {
  const size = crossProductSize(domains);
  if (size > AGG_MAX_CELLS) throw new RangeError(`the table would have ${size} cells`);
  const byKey = new Map(counts.map((c) => [JSON.stringify(c.key), c.count]));
  const cells: Cell[] = [];
  const key: string[] = [];
  const walk = (d: number) => {
    if (d === domains.length) {
      const k = JSON.stringify(key);
      cells.push({ key: [...key], count: byKey.get(k) ?? 0 });
      byKey.delete(k);
      return;
    }
    for (const v of domains[d]) {
      key[d] = v;
      walk(d + 1);
    }
    key.length = d;
  };
  walk(0);
  if (byKey.size) throw new Error('a counted cell has a value outside its dimension');
  return cells;
}
