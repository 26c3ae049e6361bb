import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An index for `extractEntriesOf` (libs/objections objections.sql.ts): an entry re-sent whose
 * reference names nobody now is looked up by its practice and resource key among the practice's
 * earlier extract entries (review-28). Without it every upload with such an entry read the whole
 * objection history.
 */
export class ObjectionEntriesByResource1764000062000 implements MigrationInterface {
  name = 'ObjectionEntriesByResource1764000062000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX objection_events_resource_idx ON objection_events (practice_ods, resource_id)
        WHERE resource_id IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX objection_events_resource_idx`);
  }
}
