import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The aggregate-cell ledger (#25): the per-organisation differencing guard for aggregate releases,
 * beside the record-level one of `release_ledger` (1764000023000).
 *
 * - `release_ledger` gains the guard `aggregate_cells`: one row per aggregate release, with the
 *   recipient organisation (`organisation_id`) and, in `decision`, the dimensions, the cohort
 *   definition, the releases compared with and the cells the guard hid.
 * - `release_aggregate_cells`: per release, per cell of the table (`cell`, the dimensions' values as
 *   a JSON object, so that two tables with the same dimensions in another order still compare), the
 *   exact count of distinct persons before rounding and suppression (`n`) and whether the file shows
 *   it (`shown`); `i` is the cell's place in the file. The organisation's earlier tables are found
 *   by `release_ledger (organisation_id, guard)` and the dimensions in its `decision` (sorted:
 *   `sex,age_band` and `age_band,sex` are one table). Cells only: no person is needed to compare
 *   what two published tables let a reader subtract (docs/RELEASE.md). Only a completed (or still running) release's cells are compared
 *   with; a failed attempt's rows are replaced on retry, a refused release's never committed.
 *
 * Exact counts are staff-only figures: written and read by `libs/release` only, never in a response.
 */
export class AggregateCellLedger1764000036000 implements MigrationInterface {
  name = 'AggregateCellLedger1764000036000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE release_ledger DROP CONSTRAINT release_ledger_guard_check`);
    await q.query(
      `ALTER TABLE release_ledger ADD CONSTRAINT release_ledger_guard_check
         CHECK (guard IN ('record_difference', 'aggregate_cells'))`,
    );
    await q.query(`
      CREATE TABLE release_aggregate_cells (
        release_id uuid NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
        i integer NOT NULL CHECK (i >= 0),
        cell jsonb NOT NULL,
        n integer NOT NULL CHECK (n >= 0),
        shown boolean NOT NULL,
        PRIMARY KEY (release_id, i)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE release_aggregate_cells`);
    await q.query(`DELETE FROM release_ledger WHERE guard = 'aggregate_cells'`);
    await q.query(`ALTER TABLE release_ledger DROP CONSTRAINT release_ledger_guard_check`);
    await q.query(
      `ALTER TABLE release_ledger ADD CONSTRAINT release_ledger_guard_check CHECK (guard IN ('record_difference'))`,
    );
  }
}
