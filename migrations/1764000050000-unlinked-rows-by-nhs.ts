import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Unlinked source rows found by their NHS number (issue #22, target 4: a release's cost follows its
 * cohort). A release of few persons reads each person's HES and social-care rows by index lookups:
 * linked rows by `patient_id`, unlinked rows by `nhs_number AND patient_id IS NULL`. The only
 * partial index on unlinked rows was on `id`, and with its statistics stale (built on an empty
 * table, no VACUUM since the load: reltuples 0) the planner chose it for that lookup, scanning every
 * unlinked row once per person — a 1% cohort at 1M patients took 57 s of shards instead of a few
 * (`EXPLAIN ANALYZE`: 10,016 persons × 6,857 unlinked rows, 100M buffer hits; docs/BENCHMARKS.md).
 * The partial index is now on `nhs_number`: the lookup is an index condition whatever the
 * statistics, and the scans of all unlinked rows (`WHERE patient_id IS NULL`) read it as they read
 * the old one. (No query orders unlinked rows by `id`.)
 *
 * And the index by patient holds linked rows only (`WHERE patient_id IS NOT NULL`): with the old
 * one, statistics taken while every row was linked (a Type 1 sweep unlinks rows later, too few to
 * trigger autovacuum's ANALYZE) made `patient_id IS NULL` look like one row, and the planner chose
 * it over the index above — the same scan of every unlinked row per person (10.9 s against 0.02 s
 * for 9,931 persons on a copy of the benchmark's HES rows). Lookups by patient (`patient_id = …`,
 * which implies IS NOT NULL) use it as before.
 */
export class UnlinkedRowsByNhs1764000050000 implements MigrationInterface {
  name = 'UnlinkedRowsByNhs1764000050000';

  async up(q: QueryRunner): Promise<void> {
    for (const [table, unlinked, byPatient] of TABLES) {
      await q.query(`DROP INDEX ${unlinked}`);
      await q.query(`CREATE INDEX ${unlinked} ON ${table} (nhs_number) WHERE patient_id IS NULL`);
      await q.query(`DROP INDEX ${byPatient}`);
      await q.query(`CREATE INDEX ${byPatient} ON ${table} (patient_id) WHERE patient_id IS NOT NULL`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const [table, unlinked, byPatient] of TABLES) {
      await q.query(`DROP INDEX ${unlinked}`);
      await q.query(`CREATE INDEX ${unlinked} ON ${table} (id) WHERE patient_id IS NULL`);
      await q.query(`DROP INDEX ${byPatient}`);
      await q.query(`CREATE INDEX ${byPatient} ON ${table} (patient_id)`);
    }
  }
}

const TABLES = [
  ['hes_episodes', 'hes_episodes_unlinked_idx', 'hes_episodes_patient_idx'],
  ['social_care_records', 'social_care_unlinked_idx', 'social_care_patient_idx'],
] as const;
