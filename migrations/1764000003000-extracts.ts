import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Extract intake: one row per accepted upload, with the report returned to the practice
 * (counts, rejected line numbers and reasons; never patient data).
 */
export class Extracts1764000003000 implements MigrationInterface {
  name = 'Extracts1764000003000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE extracts (
        id uuid PRIMARY KEY,
        practice_ods char(6) NOT NULL REFERENCES practices(ods_code),
        uploaded_by uuid REFERENCES users(id),
        created_at timestamptz NOT NULL DEFAULT now(),
        lines integer NOT NULL,
        patients integer NOT NULL,
        resources integer NOT NULL,
        objections integer NOT NULL,
        rejected integer NOT NULL,
        report jsonb NOT NULL
      )`);
    await q.query(`CREATE INDEX extracts_practice_idx ON extracts (practice_ods, created_at DESC)`);
    await q.query(`CREATE INDEX objection_events_source_idx ON objection_events (source, source_ref)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX objection_events_source_idx`);
    await q.query(`DROP TABLE extracts`);
  }
}
