import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The aggregate differencing guard holds a cell back instead of hiding it or refusing the table
 * (an attacker's probe, 2026-12-07: the guard's answer was itself the small difference. A one-cell
 * table that differed from an earlier one by one person was refused, or showed `*`, and an equal one
 * was released, so two bids told whether one patient had a condition; and tables of other
 * dimensions were never compared, so the same one-cell count released by `[postcode_area]`, then by
 * `[year]`, gave the difference away).
 *
 * - `shown_as`: what the file shows for the cell (`*` or the figure), so that a later table can show
 *   the same. Cells recorded before take their figure as it was made: `*` where hidden, else the
 *   exact count rounded to the nearest 5 (half away from zero, as `Math.round` on a positive count).
 * - `held_from`, `held_i`: the earlier release and cell whose figure this cell shows, where the
 *   guard held it (staff only, as `n`).
 */
export class AggregateCellsHeld1764000055000 implements MigrationInterface {
  name = 'AggregateCellsHeld1764000055000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE release_aggregate_cells
      ADD COLUMN shown_as text, ADD COLUMN held_from uuid, ADD COLUMN held_i integer`);
    await q.query(`UPDATE release_aggregate_cells
      SET shown_as = CASE WHEN shown THEN (floor(n / 5.0 + 0.5) * 5)::int::text ELSE '*' END`);
    await q.query(`ALTER TABLE release_aggregate_cells ALTER COLUMN shown_as SET NOT NULL`);
    await q.query(`ALTER TABLE release_aggregate_cells ADD CONSTRAINT release_aggregate_cells_held
      CHECK ((held_from IS NULL) = (held_i IS NULL))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE release_aggregate_cells
      DROP CONSTRAINT release_aggregate_cells_held, DROP COLUMN shown_as, DROP COLUMN held_from, DROP COLUMN held_i`);
  }
}
