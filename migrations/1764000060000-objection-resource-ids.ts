import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `objection_events.resource_id`: the id of the extract's resource an entry was read from (SPEC §2:
 * re-sending is idempotent "by patient + resource id"). A registration read at the time received is
 * that resource's first receipt: sent again, it is the same entry, not a new one at each upload's
 * time; a new resource (another id) is a new objection (review-20: telling a re-send apart by
 * practice, patient and type alone took a patient's new objection for the old one, and a withdrawal
 * dated between the two lifted it). Entries held before carry none, and are never taken for another.
 */
export class ObjectionResourceIds1764000060000 implements MigrationInterface {
  name = 'ObjectionResourceIds1764000060000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE objection_events ADD COLUMN resource_id varchar(64)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE objection_events DROP COLUMN resource_id`);
  }
}
