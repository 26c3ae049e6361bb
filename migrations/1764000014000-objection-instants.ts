import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Objections decided by instant, not day (issue #19, SPEC §2 "latest instant per type wins (to the
 * second, UTC; on an exact tie the objection beats the withdrawal)").
 *
 * - `objection_events.effective_at`: when the entry took effect — an extract entry's instant as the
 *   shared objection reader reads it (UTC, to the second), an API entry's time received. Rows from
 *   before it are backfilled at 00:00:00 UTC of their `effective_on`, which stays (the UTC date of
 *   `effective_at`) for the history and the API's answer. A row inserted with only one of the two
 *   gets the other (a trigger), so both always agree.
 * - `objection_register.effective_at`: the deciding entry's instant.
 * - `objections_as_of` (what a release reads, as of its snapshot) decides as the register does: the
 *   latest instant, on an exact tie the registration, then the latest recorded, then the highest id.
 */
export class ObjectionInstants1764000014000 implements MigrationInterface {
  name = 'ObjectionInstants1764000014000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE objection_events ADD COLUMN effective_at timestamptz`);
    await q.query(`UPDATE objection_events SET effective_at = effective_on::timestamp AT TIME ZONE 'UTC'`);
    await q.query(`
      CREATE FUNCTION objection_events_effective() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.effective_at IS NULL THEN
          NEW.effective_at := NEW.effective_on::timestamp AT TIME ZONE 'UTC';
        ELSIF NEW.effective_on IS NULL THEN
          NEW.effective_on := (NEW.effective_at AT TIME ZONE 'UTC')::date;
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(`
      CREATE TRIGGER objection_events_effective BEFORE INSERT ON objection_events
        FOR EACH ROW EXECUTE FUNCTION objection_events_effective()`);
    await q.query(`ALTER TABLE objection_events ALTER COLUMN effective_at SET NOT NULL`);
    await q.query(`
      ALTER TABLE objection_events ADD CONSTRAINT objection_events_effective_agree
        CHECK (effective_on = (effective_at AT TIME ZONE 'UTC')::date)`);
    await q.query(`DROP INDEX objection_events_key_idx`);
    await q.query(
      `CREATE INDEX objection_events_key_idx ON objection_events (nhs_number, type, effective_at DESC, recorded_at DESC)`,
    );

    await q.query(`ALTER TABLE objection_register ADD COLUMN effective_at timestamptz`);
    await q.query(`
      UPDATE objection_register r SET effective_at = d.effective_at FROM (
        SELECT DISTINCT ON (e.nhs_number, e.type) e.nhs_number, e.type, e.effective_at
          FROM objection_events e
         ORDER BY e.nhs_number, e.type, e.effective_on DESC, e.recorded_at DESC, e.id DESC
      ) d WHERE d.nhs_number = r.nhs_number AND d.type = r.type`);
    await q.query(
      `UPDATE objection_register SET effective_at = effective_on::timestamp AT TIME ZONE 'UTC' WHERE effective_at IS NULL`,
    );
    await q.query(`ALTER TABLE objection_register ALTER COLUMN effective_at SET NOT NULL`);

    await q.query(`
      CREATE OR REPLACE FUNCTION objections_as_of(at_time timestamptz)
      RETURNS TABLE (nhs_number char(10), type varchar(5), effective_on date)
      LANGUAGE sql STABLE AS $$
        SELECT d.nhs_number, d.type, d.effective_on FROM (
          SELECT DISTINCT ON (e.nhs_number, e.type) e.nhs_number, e.type, e.action, e.effective_on
            FROM objection_events e
           WHERE e.recorded_at <= at_time
           ORDER BY e.nhs_number, e.type, e.effective_at DESC, (e.action = 'register') DESC,
                    e.recorded_at DESC, e.id DESC
        ) d WHERE d.action = 'register'
      $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION objections_as_of(at_time timestamptz)
      RETURNS TABLE (nhs_number char(10), type varchar(5), effective_on date)
      LANGUAGE sql STABLE AS $$
        SELECT d.nhs_number, d.type, d.effective_on FROM (
          SELECT DISTINCT ON (e.nhs_number, e.type) e.nhs_number, e.type, e.action, e.effective_on
            FROM objection_events e
           WHERE e.recorded_at <= at_time
           ORDER BY e.nhs_number, e.type, e.effective_on DESC, e.recorded_at DESC, e.id DESC
        ) d WHERE d.action = 'register'
      $$`);
    await q.query(`ALTER TABLE objection_register DROP COLUMN effective_at`);
    await q.query(`DROP INDEX objection_events_key_idx`);
    await q.query(
      `CREATE INDEX objection_events_key_idx ON objection_events (nhs_number, type, effective_on DESC, recorded_at DESC)`,
    );
    await q.query(`ALTER TABLE objection_events DROP CONSTRAINT objection_events_effective_agree`);
    await q.query(`DROP TRIGGER objection_events_effective ON objection_events`);
    await q.query(`DROP FUNCTION objection_events_effective()`);
    await q.query(`ALTER TABLE objection_events DROP COLUMN effective_at`);
  }
}
