/**
 * The SQL of the aggregate differencing guard (`aggregate-differencing.ts`), over the cell ledger
 * `release_aggregate_cells` (migrations 1764000036000, 1764000055000) and `release_ledger` (guard
 * `aggregate_cells`). Every statement is set-based: a few per release, whatever the number of cells.
 */

/** Forget a failed attempt's ledger of this release (a retry writes it again). */
export const FORGET_CELLS = `DELETE FROM release_aggregate_cells WHERE release_id = $1`;
export const FORGET_LEDGER = `DELETE FROM release_ledger WHERE release_id = $1 AND guard = $2`;

/**
 * The earlier aggregate tables given to the organisation, whatever their dimensions ($1
 * organisation, $2 this release, $3 guard): completed ones (their files were, or are, with the
 * researcher — destroyed files may have been copied) and running ones whose preparation committed
 * (they may complete before this one). Failed releases were never visible.
 */
export const EARLIER_TABLES = `
  SELECT l.release_id AS id
    FROM release_ledger l JOIN releases r ON r.id = l.release_id
   WHERE l.guard = $3 AND l.organisation_id = $1 AND l.release_id <> $2 AND r.state IN ('completed', 'running')
   ORDER BY r.created_at, r.id`;

/**
 * For each cell of this release `$1` (recorded), the cell of the earlier tables `$2` it is held to:
 * one whose exact count is within `$3` persons, the same cell (the same dimensions and values) of an
 * earlier table first, else any cell of any dimensions; then the earliest table, then its first
 * cell — never the nearest count: which cell is nearest turns on the exact count, so a new cell one
 * person smaller could land on another earlier figure (a review, 2026-12-07). Cells of `$3` persons
 * or fewer are `*` whatever the earlier tables show.
 */
export const NEAREST_EARLIER = `
  SELECT DISTINCT ON (c.i) c.i, o.release_id::text AS release_id, o.i AS oi, o.shown_as
    FROM release_aggregate_cells c
    JOIN release_aggregate_cells o ON o.release_id = ANY($2::uuid[]) AND o.n BETWEEN c.n - $3 AND c.n + $3
    JOIN releases r ON r.id = o.release_id
   WHERE c.release_id = $1 AND c.n > $3
   ORDER BY c.i, o.cell <> c.cell, r.created_at, r.id, o.i`;

/** Cells held: what the file shows, and whence (set once the guard has decided). */
export const HOLD_CELLS = `
  UPDATE release_aggregate_cells c
     SET shown_as = t.shown_as, shown = t.shown_as <> '*', held_from = t.held_from, held_i = t.held_i
    FROM unnest($2::int[], $3::text[], $4::uuid[], $5::int[]) AS t(i, shown_as, held_from, held_i)
   WHERE c.release_id = $1 AND c.i = t.i`;

/** This release's cells: place in the file, key (a JSON object), exact count, what the file shows. */
export const RECORD_CELLS = `
  INSERT INTO release_aggregate_cells (release_id, i, cell, n, shown, shown_as)
  SELECT $1, t.i - 1, t.cell, t.n, t.shown_as <> '*', t.shown_as
    FROM unnest($2::jsonb[], $3::int[], $4::text[]) WITH ORDINALITY AS t(cell, n, shown_as, i)`;

/** The release's line in the ledger: its organisation, what it was compared with, the decision. */
export const RECORD_LEDGER = `
  INSERT INTO release_ledger (release_id, guard, bid_id, organisation_id, compared_with, decision)
  VALUES ($1, $2, $3, $4, $5, $6)`;
