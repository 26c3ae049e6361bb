import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Objection instants to the second (SPEC §2: "latest instant per type wins (to the second, UTC; on
 * an exact tie the objection beats the withdrawal)"). Extract entries were read to the second; an
 * API entry kept its time received to the microsecond, so a withdrawal 120 ms after the objection
 * was "later" and lifted it — the tie rule never applied (an outsider's probe, 2026-12-06).
 *
 * - Every `effective_at` is cut to its second on insert (the trigger that already fills
 *   `effective_on` from it), whoever writes it;
 * - rows held are cut likewise, and the register decided again by the same rule as
 *   `objections_as_of` (latest instant, on a tie the registration, then the latest recorded, then
 *   the highest id). What a release reads (`objections_as_of`) reads the events, so it follows at
 *   once; a Type 1 objection that a same-second withdrawal had lifted is active again in the
 *   register here, and releases exclude the patient at once, but their held GP data goes only at the
 *   next Type 1 sweep (queued by the next extract intake): the migration does not queue one.
 */
export class ObjectionSeconds1764000048000 implements MigrationInterface {
  name = 'ObjectionSeconds1764000048000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION objection_events_effective() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.effective_at IS NULL THEN
          NEW.effective_at := NEW.effective_on::timestamp AT TIME ZONE 'UTC';
        ELSE
          -- to the second, in UTC (a time zone's offset is whole seconds: the same instant cut)
          NEW.effective_at := date_trunc('second', NEW.effective_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
          IF NEW.effective_on IS NULL THEN
            NEW.effective_on := (NEW.effective_at AT TIME ZONE 'UTC')::date;
          END IF;
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(`
      UPDATE objection_events
         SET effective_at = date_trunc('second', effective_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
       WHERE effective_at <> date_trunc('second', effective_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'`);
    await q.query(`
      WITH latest AS (
        SELECT DISTINCT ON (e.nhs_number, e.type) e.nhs_number, e.type, e.action = 'register' AS active,
               e.effective_on, e.effective_at
          FROM objection_events e
         ORDER BY e.nhs_number, e.type, e.effective_at DESC, (e.action = 'register') DESC,
                  e.recorded_at DESC, e.id DESC)
      UPDATE objection_register r
         SET active = l.active, effective_on = l.effective_on, effective_at = l.effective_at, updated_at = now()
        FROM latest l
       WHERE r.nhs_number = l.nhs_number AND r.type = l.type
         AND (r.active, r.effective_on, r.effective_at) IS DISTINCT FROM (l.active, l.effective_on, l.effective_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION objection_events_effective() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.effective_at IS NULL THEN
          NEW.effective_at := NEW.effective_on::timestamp AT TIME ZONE 'UTC';
        ELSIF NEW.effective_on IS NULL THEN
          NEW.effective_on := (NEW.effective_at AT TIME ZONE 'UTC')::date;
        END IF;
        RETURN NEW;
      END $$`);
  }
}
