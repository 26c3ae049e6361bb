/**
 * The SQL of the aggregate differencing guard (`aggregate-differencing.ts`), over the cell ledger
 * `release_aggregate_cells` (migration 1764000036000) and `release_ledger` (guard
 * `aggregate_cells`). Every statement is set-based: a few per release, whatever the number of cells.
 */

/** Forget a failed attempt's ledger of this release (a retry writes it again). */
export const FORGET_CELLS = `DELETE FROM release_aggregate_cells WHERE release_id = $1`;
export const FORGET_LEDGER = `DELETE FROM release_ledger WHERE release_id = $1 AND guard = $2`;

/**
 * The earlier aggregate tables given to the organisation with the same dimensions ($1 organisation,
 * $2 sorted dimensions, $3 this release, $4 guard): completed ones (their files were, or are,
 * with the researcher — destroyed files may have been copied) and running ones whose preparation
 * committed (they may complete before this one). Failed releases were never visible.
 */
export const EARLIER_TABLES = `
  SELECT l.release_id AS id
    FROM release_ledger l JOIN releases r ON r.id = l.release_id
   WHERE l.guard = $4 AND l.organisation_id = $1 AND l.decision->>'dims' = $2
     AND l.release_id <> $3 AND r.state IN ('completed', 'running')
   ORDER BY r.created_at, r.id`;

/** This release's cells: place in the file, key (a JSON object), exact count, shown. */
export const RECORD_CELLS = `
  INSERT INTO release_aggregate_cells (release_id, i, cell, n, shown)
  SELECT $1, t.i - 1, t.cell, t.n, t.shown
    FROM unnest($2::jsonb[], $3::int[], $4::boolean[]) WITH ORDINALITY AS t(cell, n, shown, i)`;

/** Cells the guard has hidden since they were recorded (shown only ever turns false). */
export const HIDE_CELLS = `
  UPDATE release_aggregate_cells SET shown = false WHERE release_id = $1 AND i = ANY($2::int[]) AND shown`;

/**
 * Cells shown both here ($1) and in an earlier table ($2) whose exact counts differ by 1 to $3:
 * the place of this release's cell and the earlier releases it differs from.
 */
export const DIFFERING_CELLS = `
  SELECT c.i, array_agg(DISTINCT o.release_id ORDER BY o.release_id)::text[] AS against
    FROM release_aggregate_cells c
    JOIN release_aggregate_cells o ON o.release_id = ANY($2::uuid[]) AND o.cell = c.cell AND o.shown
   WHERE c.release_id = $1 AND c.shown AND abs(c.n - o.n) BETWEEN 1 AND $3
   GROUP BY c.i ORDER BY c.i`;

/**
 * Margins shown whole both here ($1) and in an earlier table ($2) whose exact sums differ by 1 to
 * $3. A margin is a row or column of the table — the cells that differ in one dimension `d`, the
 * others (`rest`) fixed — or the whole table (`d` = ''); it is "shown whole" when none of its
 * cells is `*`, so that a reader can add it up. The sum is of the cells' exact counts (what adding
 * up the shown cells approaches; for `year` and `code` a person may be in several cells).
 * $4: the dimensions, then ''.
 */
export const DIFFERING_MARGINS = `
  WITH s(d) AS (SELECT unnest($4::text[])),
  g AS (
    SELECT c.release_id, s.d, CASE WHEN s.d = '' THEN '{}'::jsonb ELSE c.cell - s.d END AS rest,
           sum(c.n)::bigint AS n, bool_and(c.shown) AS shown
      FROM release_aggregate_cells c CROSS JOIN s
     WHERE c.release_id = $1 OR c.release_id = ANY($2::uuid[])
     GROUP BY 1, 2, 3)
  SELECT x.d, x.rest, array_agg(DISTINCT o.release_id ORDER BY o.release_id)::text[] AS against
    FROM g x JOIN g o ON o.release_id <> $1 AND o.d = x.d AND o.rest = x.rest AND o.shown
   WHERE x.release_id = $1 AND x.shown AND abs(x.n - o.n) BETWEEN 1 AND $3
   GROUP BY x.d, x.rest ORDER BY x.d, x.rest::text`;

/** The release's line in the ledger: its organisation, what it was compared with, the decision. */
export const RECORD_LEDGER = `
  INSERT INTO release_ledger (release_id, guard, bid_id, organisation_id, compared_with, decision)
  VALUES ($1, $2, $3, $4, $5, $6)`;
