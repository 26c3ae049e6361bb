import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Registrations held at a day's first second are read at its last (SPEC §2, fail closed; 2026-12-07).
 * The intake read a registration dated by a day, a month, a year or a period at its span's start, so
 * a withdrawal later the same day lifted it; it now reads the last second the date covers
 * (`libs/practices/src/objection-date.ts`). What is held cannot say how precise its date was, so every
 * registration not made through the API (whose instant is the time received) that sits at exactly
 * 00:00:00 UTC — as every date-only one does — is moved to 23:59:59 of that day, never after it was
 * recorded (cut to the second; what a release saw at a snapshot is unchanged: an entry counts from
 * `recorded_at`), and never earlier. The day's arithmetic is in UTC whatever the session's time zone
 * (under Europe/London a day of a clock change was 23 or 25 hours: a review, 2026-12-07). A registration truly made at midnight moves later too, which can only keep an
 * objection in force. Month, year and period spans stored at their start are not recovered.
 *
 * The register is decided again for the NHS numbers moved, by the rule of `refreshRegisterSql`
 * (libs/objections/src/objections.sql.ts) as it stands today, copied so that this migration keeps its
 * meaning. A Type 1 objection made active again excludes the patient from releases at once (they read
 * `objections_as_of`); their held GP data goes at the next Type 1 sweep, as after migration
 * 1764000048000.
 */
export class RegistrationsAtSpanEnd1764000056000 implements MigrationInterface {
  name = 'RegistrationsAtSpanEnd1764000056000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TEMP TABLE moved_registrations ON COMMIT DROP AS
      WITH moved AS (
        UPDATE objection_events e
           SET effective_at = greatest(e.effective_at, least(
                 ((e.effective_at AT TIME ZONE 'UTC') + interval '1 day' - interval '1 second') AT TIME ZONE 'UTC',
                 date_trunc('second', e.recorded_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'))
         WHERE e.action = 'register' AND e.source <> 'api'
           AND e.effective_at = date_trunc('day', e.effective_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
           AND e.recorded_at > e.effective_at
        RETURNING e.nhs_number)
      SELECT DISTINCT nhs_number FROM moved`);
    await q.query(`
      WITH keys AS (
        SELECT e.nhs_number, e.type, max(e.effective_at) AS latest
          FROM objection_events e
         WHERE e.nhs_number IN (SELECT nhs_number FROM moved_registrations)
         GROUP BY e.nhs_number, e.type
      ), live AS (
        SELECT r.nhs_number, r.type, max(r.effective_at) AS at
          FROM objection_events r
         WHERE r.action = 'register' AND r.nhs_number IN (SELECT nhs_number FROM moved_registrations)
           AND NOT EXISTS (
             SELECT 1 FROM objection_events w
              WHERE w.nhs_number = r.nhs_number AND w.type = r.type AND w.action = 'withdraw'
                AND w.effective_at > r.effective_at
                AND (w.practice_ods IS NOT DISTINCT FROM r.practice_ods OR w.holder_since <= r.recorded_at))
         GROUP BY r.nhs_number, r.type
      ), latest AS (
        SELECT k.nhs_number, k.type, l.at IS NOT NULL AS active, coalesce(l.at, k.latest) AS effective_at
          FROM keys k LEFT JOIN live l ON l.nhs_number = k.nhs_number AND l.type = k.type
      )
      INSERT INTO objection_register AS r (nhs_number, type, active, effective_on, effective_at, updated_at)
      SELECT nhs_number, type, active, (effective_at AT TIME ZONE 'UTC')::date, effective_at, now() FROM latest
      ON CONFLICT (nhs_number, type) DO UPDATE
         SET active = excluded.active, effective_on = excluded.effective_on,
             effective_at = excluded.effective_at, updated_at = now()
       WHERE (r.active, r.effective_at) IS DISTINCT FROM (excluded.active, excluded.effective_at)`);
  }

  async down(): Promise<void> {
    // The instants moved cannot be told from others: nothing to undo that would not be a guess.
  }
}
