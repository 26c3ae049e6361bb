/**
 * Statistical disclosure control for the aggregate tier (SPEC §5 step 5), as a pure function:
 * - primary suppression: a count of 0–7 is shown as `*` (an empty cell of the cross-product too, so
 *   that `*` never means "someone is here"; see `aggregate-cells.ts`);
 * - every other count is rounded to the nearest 5;
 * - secondary suppression: in every group of cells that differ in one dimension only (a row or a
 *   column of the table, whose total a reader may know), a lone suppressed cell could be recovered
 *   by subtraction, so the next smallest cell of the group is suppressed too; repeated until no
 *   group of two or more cells has exactly one suppressed cell.
 * Cells are the whole cross-product of the dimensions' values (`crossProductCells`), empty ones
 * with a count of 0.
 */
export interface Cell {
  key: string[];
  count: number;
}

export interface ProtectedCell {
  key: string[];
  /** A multiple of 5 of at least 10, or `*`. */
  shown: number | '*';
  /** `differencing`: hidden by the aggregate differencing guard (`aggregate-differencing.ts`). */
  suppressed: 'primary' | 'differencing' | 'secondary' | null;
}

export const PRIMARY_MAX = 7;
export const ROUND_TO = 5;

export const roundToBase = (n: number) => Math.round(n / ROUND_TO) * ROUND_TO;

/**
 * A count of persons as a researcher may see it anywhere (manifest, failure reasons, views; SPEC
 * §5 step 4): the aggregate rule — 1–7 as `*`, every other count rounded to the nearest 5.
 * Staff see exact figures. Row counts of files are rows, not persons, and stay exact.
 */
export const shownCount = (n: number): number | '*' => (n >= 1 && n <= PRIMARY_MAX ? '*' : roundToBase(n));

/**
 * A count a researcher reads beside others of its kind, where a `*` beside a `0` would say "someone
 * is here" (review-27: the manifest's persons suppressed read `0` once the one such person had
 * objected, `*` before): 0 to 7 alike as `*`, others rounded to the nearest 5.
 */
export const shownSmall = (n: number): number | '*' => (n <= PRIMARY_MAX ? '*' : roundToBase(n));

/** The same in words, for text: 1–7 is "fewer than 8". */
export const shownCountText = (n: number): string =>
  n >= 1 && n <= PRIMARY_MAX ? `fewer than ${PRIMARY_MAX + 1}` : String(roundToBase(n));

/**
 * `hide`: indices of cells to suppress whatever their count (the differencing guard's); secondary
 * suppression then protects them as it protects the small ones.
 */
export function protectCells(cells: Cell[], hide: ReadonlySet<number> = new Set()): ProtectedCell[] {
  const dims = cells[0]?.key.length ?? 0;
  const state = cells.map((c, i) => ({
    ...c,
    // 0 too: an empty cell shown as 0 would make `*` mean "someone is here".
    suppressed: (c.count <= PRIMARY_MAX
      ? 'primary'
      : hide.has(i)
        ? 'differencing'
        : null) as ProtectedCell['suppressed'],
  }));
  // Groups: for each dimension d, the cells sharing every other coordinate. With one dimension
  // the whole table is one group (its grand total may be known).
  const groups: number[][] = [];
  for (let d = 0; d < Math.max(dims, 1); d++) {
    const byRest = new Map<string, number[]>();
    state.forEach((c, i) => {
      const rest = JSON.stringify(c.key.filter((_, j) => j !== d));
      const g = byRest.get(rest);
      if (g) g.push(i);
      else byRest.set(rest, [i]);
    });
    for (const g of byRest.values()) if (g.length >= 2) groups.push(g);
  }
  for (let changed = true; changed;) {
    changed = false;
    for (const g of groups) {
      const suppressed = g.filter((i) => state[i].suppressed);
      if (suppressed.length !== 1) continue;
      const next = g
        .filter((i) => !state[i].suppressed)
        .sort((a, b) => state[a].count - state[b].count || compareKeys(state[a].key, state[b].key))[0];
      state[next].suppressed = 'secondary';
      changed = true;
    }
  }
  return state.map((c) => ({
    key: c.key,
    shown: c.suppressed ? '*' : roundToBase(c.count),
    suppressed: c.suppressed,
  }));
}

function compareKeys(a: string[], b: string[]): number {
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return 0;
}
