import { Cell, PRIMARY_MAX, protectCells, ProtectedCell } from './disclosure-control';
import {
  EARLIER_TABLES,
  FORGET_CELLS,
  FORGET_LEDGER,
  HOLD_CELLS,
  NEAREST_EARLIER,
  RECORD_CELLS,
  RECORD_LEDGER,
} from './aggregate-differencing.sql';
import type { ReleaseSpec } from './release.types';

/**
 * The aggregate differencing guard (#25, #27). Two aggregate tables given to one organisation whose
 * cohorts differ by a few persons (practice A, then practices A and B; every age, then every age
 * up to 100) could be subtracted to show a group of 1–7 persons, though each table alone obeyed the
 * small-number rule.
 *
 * Rule: a cell of a new table whose exact count is within 7 persons of a cell of an earlier table
 * given to the same organisation — any cell of any dimensions, difference 0 included — shows what
 * such a cell shows (its figure, or `*`), not its own rounded count: the change is held back. Which
 * cell: the same cell of an earlier table first, else any; then the earliest table and its first
 * cell. Never the nearest count: a review (2026-12-07) had an earlier `[sex]` table of 102 and 103
 * persons, and a new one-cell table landed on 102's figure or 103's by the target's one person.
 * Cells of 7 or fewer are `*` (primary suppression) whatever the earlier tables show;
 * secondary suppression then protects every `*` as before.
 *
 * Why holding back, and not hiding or refusing (an attacker's probe, 2026-12-07): the guard used to
 * hide a differing cell (`*`) and refuse a table it would hide half of. Its answer was itself the
 * difference: a one-cell table one person smaller than an earlier one was refused, and an equal one
 * released, so two bids told whether one patient had a condition. A held cell shows the same figure
 * whether the difference is 0 or 1–7, so the table reads alike either way; which cells were held is
 * staff-only (the ledger, the audit trail), never in the manifest. The same probe released one
 * count as `[postcode_area]` and then as `[year]` (a cohort of one area and one year makes both
 * one-cell tables): tables were compared only with the same dimensions. Every earlier cell of the
 * organisation is now a candidate: holding a cell to an unrelated one with a count within 7 costs at
 * most 7 persons (and the rounding) of accuracy, and fails closed.
 *
 * Every earlier table to the organisation is treated as overlapping, whatever the two cohort
 * definitions say (fail closed): patients change practice and postcode, age into and out of ranges,
 * gain condition codes, and objections change between releases.
 *
 * Left (docs/RELEASE.md): differences of 8 or more persons are shown, each table rounded to 5;
 * chained near-copies keep showing the first figure (accuracy, not privacy); an earlier cell exactly
 * 7 persons from a new one is in or out of its window by one person, so an attacker who could place
 * one there, as the first candidate, could tell the two cases apart — they see only rounded figures,
 * so placing one takes guesses, each an approved bid.
 *
 * It runs in the preparation's transaction (the cells are recorded there, committed with it), on
 * the exact counts the aggregate stage built.
 */
export const AGG_GUARD = 'aggregate_cells';
/** Differences of 0 to this many persons are held back (the small-number rule's 1–7). */
export const DIFFERENCE_MAX = PRIMARY_MAX;

export interface AggregateDifferencingDecision {
  /** The dimensions, sorted and joined. */
  dims: string;
  dimensions: string[];
  /** The cohort definition and datasets of the table (the ledger keeps them beside its cells). */
  cohort: ReleaseSpec['cohort'];
  datasets: string[];
  comparedWith: string[];
  /** Staff only: cells held to an earlier table's (place here, release, place there). */
  held: { i: number; from: string; fromI: number }[];
  /** The guard's time (docs/BENCHMARKS.md). */
  ms: number;
  outcome: 'none' | 'held';
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
): Promise<{ cells: ProtectedCell[]; decision: AggregateDifferencingDecision }> {
  const started = Date.now();
  await q(FORGET_CELLS, [release.id]);
  await q(FORGET_LEDGER, [release.id, AGG_GUARD]);
  const earlier = (
    await q<{ id: string }>(EARLIER_TABLES, [release.organisationId, release.id, AGG_GUARD])
  ).map((r) => r.id);
  const keys = cells.map((c) => JSON.stringify(cellObject(dimensions, c.key)));
  const record = (state: ProtectedCell[]) =>
    q(RECORD_CELLS, [release.id, keys, cells.map((c) => c.count), state.map((c) => String(c.shown))]);
  const unheld = protectCells(cells);
  await record(unheld);
  const nearest = earlier.length
    ? await q<{ i: number; release_id: string; oi: number; shown_as: string }>(NEAREST_EARLIER, [
        release.id,
        earlier,
        DIFFERENCE_MAX,
      ])
    : [];
  const held = new Map(nearest.map((r) => [r.i, r]));
  // Held to a `*`: suppressed, and protected by secondary suppression as any `*`. Held to a figure:
  // that figure, unless secondary suppression hides the cell.
  const hide = new Set(nearest.filter((r) => r.shown_as === '*').map((r) => r.i));
  const state = !nearest.length
    ? unheld
    : protectCells(cells, hide).map((c, i) => {
        const h = held.get(i);
        return h && c.suppressed === null ? { ...c, shown: Number(h.shown_as) } : c;
      });
  if (nearest.length) {
    const all = cells.map((_, i) => i);
    await q(HOLD_CELLS, [
      release.id,
      all,
      state.map((c) => String(c.shown)),
      all.map((i) => held.get(i)?.release_id ?? null),
      all.map((i) => held.get(i)?.oi ?? null),
    ]);
  }
  const decision: AggregateDifferencingDecision = {
    dims: [...dimensions].sort().join(','),
    dimensions: [...dimensions],
    cohort: spec.cohort,
    datasets: spec.datasets.map((d) => d.dataset),
    comparedWith: earlier,
    held: nearest.map((r) => ({ i: r.i, from: r.release_id, fromI: r.oi })),
    ms: Date.now() - started,
    outcome: nearest.length ? 'held' : 'none',
  };
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

const RULE = `a cell whose exact count is within ${DIFFERENCE_MAX} persons of a cell of an earlier aggregate table given to the organisation (any dimensions) shows what such a cell shows (the same cell of an earlier table first, then the earliest table), so that the two cannot be subtracted; cells of ${DIFFERENCE_MAX} or fewer are * whatever the earlier tables show`;

/**
 * What the manifest says (researchers read it): the rule and the tables compared with. Which cells
 * were held is not said: that a cell was held says its count is within 7 of an earlier one.
 */
export function aggregateDifferencingManifest(d: AggregateDifferencingDecision) {
  return { rule: RULE, comparedWith: d.comparedWith };
}

/** The public register's words for the release, or null where there was nothing to compare with. */
export function aggregateDifferencingNote(d: { comparedWith: string[] } | undefined): string | null {
  if (!d || !d.comparedWith.length) return null;
  return `differencing guard applied: compared with ${d.comparedWith.length} earlier aggregate release(s) to the organisation; a cell within ${DIFFERENCE_MAX} persons of one of theirs shows their figure`;
}
