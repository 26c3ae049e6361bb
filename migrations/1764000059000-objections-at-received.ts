import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `objection_events.at_received`: an extract's registration read at the time the extract was
 * received (SPEC §2: no date, an odd one, or a day still running), not at a date of its own. Sent
 * again, such an entry was read at each upload's time and joined the history once per upload:
 * "re-sending the same extract does not duplicate anything" held only for dated entries. The
 * intake now adds it again only where it could change something (objections.service.ts
 * `recordExtractEntries`). Entries held before this migration are not marked: the first upload
 * after it adds each such entry once more, as before.
 */
export class ObjectionsAtReceived1764000059000 implements MigrationInterface {
  name = 'ObjectionsAtReceived1764000059000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE objection_events ADD COLUMN at_received boolean NOT NULL DEFAULT false`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE objection_events DROP COLUMN at_received`);
  }
}
