import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Cost follows the cohort (issue #22): a release whose cohort names condition codes finds its
 * patients through indexes — GP events by `code` (`gp_events_code_idx`, already there) and HES
 * episodes by their primary diagnosis (this index) — instead of a pass over every episode.
 */
export class CohortIndexes1764000038000 implements MigrationInterface {
  name = 'CohortIndexes1764000038000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX hes_episodes_diagnosis_idx ON hes_episodes (diagnosis_icd10)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX hes_episodes_diagnosis_idx`);
  }
}
