import { roundToBase } from '../disclosure-control';
import type { VerifierDb } from './verifier-sql';

/**
 * The aggregate differencing rule (#25), re-checked by the verifier with its own SQL and arithmetic
 * (not the guard's, `aggregate-differencing.ts`): no cell, and no row, column or whole-table total
 * whose cells are all shown, of this table differs by 1–7 persons (exact counts) from the same one
 * shown in another aggregate table given to the organisation with the same dimensions (completed,
 * or still running: it may complete first).
 *
 * The exact counts come from the cell ledger (`release_aggregate_cells`), which the verifier first
 * holds against the file it read: the same cells in the same order, a `*` exactly where the ledger
 * says hidden, and each shown count the ledger's count rounded to 5 — so a ledger that does not
 * describe the file fails, and the comparison is of what the researchers hold. A table without a
 * ledger fails (the guard did not run).
 *
 * Cost: one read of this table's ledger and one of the other tables' shown cells; the margins are
 * added up here, one pass per table. Returns what is wrong (exact figures: the verifier's messages
 * reach officers only), the releases compared with, and the cells the ledger says hold more than 7
 * though shown as `*` (for the minimum-population bound, which otherwise reads `*` as at most 7).
 */
export interface AggregateDifferenceResult {
  problem?: string;
  /** The ledger has other cells than the file (a table of other rows): the file's own checks first. */
  otherCells?: boolean;
  comparedWith: string[];
  /** Keys (JSON of the values in the file's dimension order) of `*` cells holding more than 7. */
  largeHidden: Set<string>;
}

interface LedgerCell {
  release_id: string;
  cell: Record<string, string>;
  n: number;
  shown: boolean;
}

const MAX_DIFFERENCE = 7;

export async function aggregateDifferenceProblem(
  db: VerifierDb,
  releaseId: string,
  dims: string[],
  fileCells: { key: string[]; shown: string }[],
): Promise<AggregateDifferenceResult> {
  const none: AggregateDifferenceResult = { comparedWith: [], largeHidden: new Set() };
  const [entry] = (await db.query(
    `SELECT organisation_id::text AS org, decision->>'dims' AS dims FROM release_ledger
      WHERE release_id = $1 AND guard = 'aggregate_cells'`,
    [releaseId],
  )) as { org: string; dims: string }[];
  if (!entry) return { ...none, problem: 'the aggregate table recorded no cell ledger' };
  if (entry.dims !== [...dims].sort().join(','))
    return { ...none, problem: 'the cell ledger names other dimensions than the table' };
  const own = (await db.query(
    `SELECT cell, n, shown FROM release_aggregate_cells WHERE release_id = $1 ORDER BY i`,
    [releaseId],
  )) as Omit<LedgerCell, 'release_id'>[];
  if (own.length !== fileCells.length)
    return {
      ...none,
      otherCells: true,
      problem: `the cell ledger has ${own.length} cells, the file ${fileCells.length}`,
    };
  const largeHidden = new Set<string>();
  for (let i = 0; i < own.length; i++) {
    const f = fileCells[i];
    if (dims.some((d, j) => own[i].cell[d] !== f.key[j]))
      return { ...none, otherCells: true, problem: `row ${i + 1}: the cell ledger has another cell there` };
    const hidden = f.shown === '*';
    if (hidden === own[i].shown || (!hidden && Number(f.shown) !== roundToBase(own[i].n)))
      return { ...none, problem: `row ${i + 1}: the file does not show what the cell ledger recorded` };
    if (hidden && own[i].n > MAX_DIFFERENCE) largeHidden.add(JSON.stringify(f.key));
  }
  const others = (await db.query(
    `SELECT c.release_id::text AS release_id, c.cell, c.n, c.shown
       FROM release_ledger l
       JOIN releases r ON r.id = l.release_id AND r.state IN ('completed', 'running')
       JOIN release_aggregate_cells c ON c.release_id = l.release_id
      WHERE l.guard = 'aggregate_cells' AND l.organisation_id = $1::uuid AND l.decision->>'dims' = $2
        AND l.release_id <> $3`,
    [entry.org, entry.dims, releaseId],
  )) as LedgerCell[];
  const comparedWith = [...new Set(others.map((o) => o.release_id))].sort();
  // Each table's cells and margins: key → [exact count, shown whole].
  const figures = (cells: Omit<LedgerCell, 'release_id'>[]) => {
    const out = new Map<string, [number, boolean]>();
    const add = (k: string, n: number, shown: boolean) => {
      const x = out.get(k);
      out.set(k, x ? [x[0] + n, x[1] && shown] : [n, shown]);
    };
    const sorted = [...dims].sort();
    for (const c of cells) {
      add(`cell ${JSON.stringify(sorted.map((d) => c.cell[d]))}`, c.n, c.shown);
      add('total', c.n, c.shown);
      for (const d of sorted)
        add(`${d} varying, ${JSON.stringify(sorted.map((x) => (x === d ? null : c.cell[x])))}`, c.n, c.shown);
    }
    return out;
  };
  const mine = figures(own);
  const byRelease = new Map<string, Omit<LedgerCell, 'release_id'>[]>();
  for (const o of others) {
    const list = byRelease.get(o.release_id);
    if (list) list.push(o);
    else byRelease.set(o.release_id, [o]);
  }
  for (const [other, cells] of byRelease)
    for (const [k, [n, shown]] of figures(cells)) {
      const m = mine.get(k);
      if (!m || !shown || !m[1]) continue;
      const d = Math.abs(m[0] - n);
      if (d >= 1 && d <= MAX_DIFFERENCE)
        return {
          comparedWith,
          largeHidden,
          problem: `${k.startsWith('cell') ? 'a cell' : 'a margin'} shown in this table and in release ${other} differs by ${d} persons (1-${MAX_DIFFERENCE}): subtracting them singles a group out`,
        };
    }
  return { comparedWith, largeHidden };
}
