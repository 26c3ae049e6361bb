import { PRIMARY_MAX } from '../disclosure-control';
import type { VerifierDb } from './verifier-sql';

/**
 * The aggregate differencing rule (#25, #27), re-checked by the verifier with its own SQL and
 * arithmetic (not the guard's, `aggregate-differencing.ts`): a cell of this table whose exact count
 * is within 7 persons of a cell of another aggregate table given to the organisation that the guard
 * compared with (any dimensions; every table completed before this release started must be among
 * them) shows what the first such cell shows — the same cell first, then the earliest table and its
 * first cell — or `*`; a cell with no such cell shows its own figure (the recount checks it) or `*`.
 *
 * The exact counts come from the cell ledger (`release_aggregate_cells`), which the verifier first
 * holds against the file it read: the same cells in the same order, and each cell showing what the
 * ledger says the file shows. The recount then holds the ledger's count of every held cell against
 * its own (`recountProblem`), so the comparison is of true counts. A table without a ledger fails.
 *
 * Cost: one read of this table's ledger and one of the organisation's other cells, sorted by count;
 * each cell finds its neighbours by binary search. Returns what is wrong (exact figures: the
 * verifier's messages reach officers only), the releases compared with, the cells whose figure
 * does not bound their persons (a `*` over 7, a held figure), and the held cells' ledger counts.
 */
export interface AggregateDifferenceResult {
  problem?: string;
  /** The ledger has other cells than the file (a table of other rows): the file's own checks first. */
  otherCells?: boolean;
  comparedWith: string[];
  /** Keys (JSON of the values in the file's dimension order) whose shown value bounds nothing. */
  largeHidden: Set<string>;
  /** Keys of cells showing a held figure → their exact count in the ledger (for the recount). */
  held: Map<string, number>;
}

interface LedgerCell {
  cell: Record<string, string>;
  n: number;
  shown_as: string;
  held_from: string | null;
  held_i: number | null;
}

const MAX_DIFFERENCE = PRIMARY_MAX;

export async function aggregateDifferenceProblem(
  db: VerifierDb,
  releaseId: string,
  dims: string[],
  fileCells: { key: string[]; shown: string }[],
): Promise<AggregateDifferenceResult> {
  const none: AggregateDifferenceResult = { comparedWith: [], largeHidden: new Set(), held: new Map() };
  const [entry] = (await db.query(
    `SELECT organisation_id::text AS org, decision->>'dims' AS dims,
            ARRAY(SELECT jsonb_array_elements_text(decision->'comparedWith')) AS compared
       FROM release_ledger WHERE release_id = $1 AND guard = 'aggregate_cells'`,
    [releaseId],
  )) as { org: string; dims: string; compared: string[] }[];
  if (!entry) return { ...none, problem: 'the aggregate table recorded no cell ledger' };
  if (entry.dims !== [...dims].sort().join(','))
    return { ...none, problem: 'the cell ledger names other dimensions than the table' };
  const own = (await db.query(
    `SELECT cell, n, shown_as, held_from::text AS held_from, held_i
       FROM release_aggregate_cells WHERE release_id = $1 ORDER BY i`,
    [releaseId],
  )) as LedgerCell[];
  if (own.length !== fileCells.length)
    return {
      ...none,
      otherCells: true,
      problem: `the cell ledger has ${own.length} cells, the file ${fileCells.length}`,
    };
  for (let i = 0; i < own.length; i++) {
    if (dims.some((d, j) => own[i].cell[d] !== fileCells[i].key[j]))
      return { ...none, otherCells: true, problem: `row ${i + 1}: the cell ledger has another cell there` };
    if (fileCells[i].shown !== own[i].shown_as)
      return { ...none, problem: `row ${i + 1}: the file does not show what the cell ledger recorded` };
  }
  // What the guard compared with: the tables it could see when it ran (a table asked for later is
  // checked against this one when it is made; a review, 2026-12-07, had two releases asked for
  // together fail verification). Every table completed before this release started must be there.
  const [missing] = (await db.query(
    `SELECT r.id::text AS id FROM release_ledger l
       JOIN releases r ON r.id = l.release_id AND r.state = 'completed'
       JOIN releases me ON me.id = $2
      WHERE l.guard = 'aggregate_cells' AND l.organisation_id = $1::uuid AND l.release_id <> $2
        AND r.completed_at < me.started_at AND NOT (r.id::text = ANY($3::text[]))
      LIMIT 1`,
    [entry.org, releaseId, entry.compared],
  )) as { id: string }[];
  if (missing)
    return {
      ...none,
      problem: `the aggregate table was not compared with release ${missing.id}, completed before it started`,
    };
  // Those tables' cells, by count, each with its place in table order (the earlier table, then its
  // first cell: which cell a held one shows).
  const others = (await db.query(
    `SELECT c.release_id::text AS release_id, c.i, c.n, c.shown_as, c.cell,
            row_number() OVER (ORDER BY r.created_at, r.id, c.i)::int AS ord
       FROM releases r JOIN release_aggregate_cells c ON c.release_id = r.id
      WHERE r.id::text = ANY($1::text[])
      ORDER BY c.n, r.created_at, r.id, c.i`,
    [entry.compared],
  )) as {
    release_id: string;
    i: number;
    n: number;
    shown_as: string;
    cell: Record<string, string>;
    ord: number;
  }[];
  const comparedWith = [...new Set(others.map((o) => o.release_id))].sort();
  const largeHidden = new Set<string>();
  const held = new Map<string, number>();
  /** The first other cell with a count of at least `n`. */
  const from = (n: number) => {
    let lo = 0;
    let hi = others.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (others[mid].n < n) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  for (let i = 0; i < own.length; i++) {
    const c = own[i];
    const key = JSON.stringify(fileCells[i].key);
    if (c.shown_as === '*') {
      if (c.n > MAX_DIFFERENCE) largeHidden.add(key);
      continue;
    }
    if (c.n <= MAX_DIFFERENCE) return { ...none, problem: `row ${i + 1}: a cell of ${c.n} persons is shown` };
    // The other tables' cells within 7 persons: the same cell (dimensions and values) first, else
    // any; the first of them in table order.
    const ownCell = JSON.stringify(c.cell);
    const near: typeof others = [];
    for (let j = from(c.n - MAX_DIFFERENCE); j < others.length && others[j].n <= c.n + MAX_DIFFERENCE; j++)
      near.push(others[j]);
    const same = near.filter((o) => JSON.stringify(o.cell) === ownCell);
    const pool = same.length ? same : near;
    if (!pool.length) {
      if (c.held_from !== null)
        return {
          ...none,
          problem: `row ${i + 1}: a cell shows a held figure with no earlier cell within 7 persons`,
        };
      continue;
    }
    const first = pool.reduce((a, b) => (b.ord < a.ord ? b : a));
    if (first.release_id !== c.held_from || first.i !== c.held_i || first.shown_as !== c.shown_as)
      return {
        comparedWith,
        largeHidden,
        held,
        problem: `row ${i + 1}: a cell within ${MAX_DIFFERENCE} persons of ${same.length ? 'the same cell' : 'a cell'} of release ${first.release_id} does not show the figure of the first such cell: subtracting them singles a group out`,
      };
    largeHidden.add(key);
    held.set(key, c.n);
  }
  return { comparedWith, largeHidden, held };
}
