import { Cell, PRIMARY_MAX, protectCells, ProtectedCell } from './disclosure-control';
import {
  DIFFERING_CELLS,
  DIFFERING_MARGINS,
  EARLIER_TABLES,
  FORGET_CELLS,
  FORGET_LEDGER,
  HIDE_CELLS,
  RECORD_CELLS,
  RECORD_LEDGER,
} from './aggregate-differencing.sql';
import type { ReleaseSpec } from './release.types';

/**
 * The aggregate differencing guard (#25). Two aggregate tables given to one organisation, with the
 * same dimensions and nested or overlapping cohorts, could be subtracted cell by cell (or row,
 * column or total by total) to show a group of 1–7 persons, though each table alone obeyed the
 * small-number rule.
 *
 * Rule: no cell, and no row, column or total shown whole, of a new aggregate table differs by 1 to
 * 7 persons (exact counts, before rounding) from the same cell or margin shown in an earlier table
 * given to the same organisation with the same dimensions. Where one would, the new table hides it
 * (a cell: that cell; a margin: its smallest shown cell), and secondary suppression runs again so
 * that rows and columns do not give the hidden cells back; repeated until nothing differs. When
 * that hides more than `AGG_DIFFERENCING_MAX_SHARE` of the cells the table would have shown, the
 * release is refused (`AGG_DIFFERENCING`): the table would say little, and the officer should know.
 *
 * "Nested or overlapping cohorts": every earlier table to the organisation with the same dimensions
 * is treated as overlapping, whatever the two cohort definitions say (fail closed). Disjointness
 * cannot be proved from the definitions: patients change practice and postcode, age into and out
 * of ranges, gain condition codes, and objections change between releases; and an overlap count
 * would need the persons behind each cell kept for every table. Comparing with every such table
 * can only hide more cells than needed, never fewer.
 *
 * It runs in the preparation's transaction (the cells are recorded there, committed with it), on
 * the exact counts the aggregate stage built, after primary and secondary suppression.
 */
export const AGG_GUARD = 'aggregate_cells';
/** The share of the cells a table would show that the guard may hide; past it, the release is refused. */
export const AGG_DIFFERENCING_MAX_SHARE = 0.5;
/** Differences of 1 to this many persons single a group out (the small-number rule's 1–7). */
export const DIFFERENCE_MAX = PRIMARY_MAX;

export interface AggregateDifferencingDecision {
  /** The dimensions, sorted and joined (how tables are matched). */
  dims: string;
  dimensions: string[];
  /** The cohort definition and datasets of the table (the ledger keeps them beside its cells). */
  cohort: ReleaseSpec['cohort'];
  datasets: string[];
  comparedWith: string[];
  /** Cells the table would have shown and hides (places in the file). */
  hidden: number[];
  /** Exact (staff): cells and margins that differed, and the releases they differed from. */
  differingCells: { i: number; against: string[] }[];
  differingMargins: { dimension: string; rest: Record<string, string>; against: string[] }[];
  /** Cells shown without the guard. */
  shownWithout: number;
  /** Rounds of hiding, and the guard's time (docs/BENCHMARKS.md). */
  rounds: number;
  ms: number;
  outcome: 'none' | 'suppressed' | 'refused';
}

type Q = <T = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<T[]>;

/** The cell's key as a JSON object of dimension → value (order of the dimensions irrelevant). */
export const cellObject = (dims: readonly string[], key: readonly string[]): Record<string, string> =>
  Object.fromEntries(dims.map((d, i) => [d, key[i]]));

export async function guardAggregateCells(
  q: Q,
  release: { id: string; bidId: string; organisationId: string },
  spec: Pick<ReleaseSpec, 'cohort' | 'datasets'>,
  dimensions: readonly string[],
  cells: Cell[],
  protectedCells: ProtectedCell[],
): Promise<{ cells: ProtectedCell[]; decision: AggregateDifferencingDecision }> {
  const started = Date.now();
  const dims = [...dimensions].sort().join(',');
  await q(FORGET_CELLS, [release.id]);
  await q(FORGET_LEDGER, [release.id, AGG_GUARD]);
  const earlier = (
    await q<{ id: string }>(EARLIER_TABLES, [release.organisationId, dims, release.id, AGG_GUARD])
  ).map((r) => r.id);
  await q(RECORD_CELLS, [
    release.id,
    cells.map((c) => JSON.stringify(cellObject(dimensions, c.key))),
    cells.map((c) => c.count),
    protectedCells.map((c) => c.suppressed === null),
  ]);
  const decision: AggregateDifferencingDecision = {
    dims,
    dimensions: [...dimensions],
    cohort: spec.cohort,
    datasets: spec.datasets.map((d) => d.dataset),
    comparedWith: earlier,
    hidden: [],
    differingCells: [],
    differingMargins: [],
    shownWithout: protectedCells.filter((c) => c.suppressed === null).length,
    rounds: 0,
    ms: 0,
    outcome: 'none',
  };
  let state = protectedCells;
  if (earlier.length) {
    const hide = new Set<number>();
    // Secondary suppression is greedy: re-run with more cells hidden, it could pick other cells
    // and show one it had hidden. Every cell hidden so far stays hidden (its reason kept).
    const apply = async () => {
      const before = state;
      const keep = new Set(hide);
      before.forEach((c, i) => c.suppressed !== null && keep.add(i));
      state = protectCells(cells, keep).map((c, i) =>
        before[i].suppressed !== null && !hide.has(i) ? { ...c, suppressed: before[i].suppressed } : c,
      );
      const newlyHidden = state.flatMap((c, i) =>
        c.suppressed !== null && before[i].suppressed === null ? [i] : [],
      );
      if (newlyHidden.length) await q(HIDE_CELLS, [release.id, newlyHidden]);
    };
    // Each round hides at least one more cell, so it ends; cells first, then the margins left.
    for (;;) {
      decision.rounds++;
      const differing = await q<{ i: number; against: string[] }>(DIFFERING_CELLS, [
        release.id,
        earlier,
        DIFFERENCE_MAX,
      ]);
      if (differing.length) {
        for (const d of differing) {
          hide.add(d.i);
          decision.differingCells.push(d);
        }
        await apply();
        continue;
      }
      const margins = await q<{ d: string; rest: Record<string, string>; against: string[] }>(
        DIFFERING_MARGINS,
        [release.id, earlier, DIFFERENCE_MAX, [...dimensions, '']],
      );
      if (!margins.length) break;
      for (const m of margins) {
        const i = smallestShownIn(dimensions, state, cells, m.d, m.rest);
        if (i === undefined) throw new Error('a margin shown whole has no shown cell');
        hide.add(i);
        decision.differingMargins.push({ dimension: m.d, rest: m.rest, against: m.against });
      }
      await apply();
    }
  }
  decision.hidden = state.flatMap((c, i) =>
    c.suppressed !== null && protectedCells[i].suppressed === null ? [i] : [],
  );
  decision.outcome = !decision.hidden.length
    ? 'none'
    : decision.hidden.length > AGG_DIFFERENCING_MAX_SHARE * decision.shownWithout
      ? 'refused'
      : 'suppressed';
  decision.ms = Date.now() - started;
  await q(RECORD_LEDGER, [
    release.id,
    AGG_GUARD,
    release.bidId,
    release.organisationId,
    earlier.at(-1) ?? null,
    JSON.stringify(decision),
  ]);
  return { cells: state, decision };
}

/** The smallest shown cell of a margin (`d` varying, the other dimensions as in `rest`; '' = all). */
function smallestShownIn(
  dimensions: readonly string[],
  state: ProtectedCell[],
  cells: Cell[],
  d: string,
  rest: Record<string, string>,
): number | undefined {
  let best: number | undefined;
  state.forEach((c, i) => {
    if (c.suppressed !== null) return;
    if (d !== '' && !dimensions.every((dim, j) => dim === d || rest[dim] === c.key[j])) return;
    if (best === undefined || cells[i].count < cells[best].count) best = i;
  });
  return best;
}

/** What the manifest says (researchers read it: which cells the guard hid, never counts). */
export function aggregateDifferencingManifest(d: AggregateDifferencingDecision, cells: Cell[]) {
  return {
    rule: `no cell, and no row, column or total shown whole, differs by 1-${DIFFERENCE_MAX} persons from the same one shown in an earlier aggregate table given to the organisation with the same dimensions (every such table counts as overlapping); such cells are hidden (*), with the cells that protect them; a release that would hide more than ${AGG_DIFFERENCING_MAX_SHARE * 100}% of its shown cells is refused`,
    comparedWith: d.comparedWith,
    // The cells hidden for differencing and to protect them, together: which of them differed is
    // not said (that a cell differs by 1-7 is itself a small number).
    hiddenCells: d.hidden.map((i) => cellObject(d.dimensions, cells[i].key)),
  };
}

/** The public register's words for the release, or null where the guard hid nothing. */
export function aggregateDifferencingNote(
  d: { comparedWith: string[]; hiddenCells: unknown[] } | undefined,
): string | null {
  if (!d || !d.hiddenCells.length) return null;
  const n = d.comparedWith.length;
  return `differencing guard applied: ${d.hiddenCells.length} cell(s) hidden so that the table cannot be subtracted from ${n} earlier aggregate release(s) to the organisation`;
}
