import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Withdrawals held at a day's first second in UTC are read at its first second in England (SPEC §2,
 * fail closed; a review, 2026-12-07). A withdrawal dated by a day (or a month, a year) is a date of a
 * practice in England; in British Summer Time that day began an hour before UTC's, at 23:00Z the day
 * before. The intake now reads it there (`libs/practices/src/objection-date.ts`); read at 00:00Z, a
 * withdrawal dated 3 May lifted an objection made at 00:30 BST on 3 May. Every withdrawal not made
 * through the API (whose instant is the time received) that sits at exactly 00:00:00 UTC on a day
 * England kept summer time is moved to England's midnight of that date (`effective_on` with it, the
 * UTC date of the new instant); in winter the two are one instant and nothing moves. A withdrawal
 * truly made at 00:00Z moves earlier too, which can only keep an objection in force. Computed in UTC
 * and Europe/London explicitly, whatever the session's time zone.
 *
 * The register is decided again for the NHS numbers moved, by the rule of `refreshRegisterSql`
 * (libs/objections/src/objections.sql.ts) as it stands today, copied so that this migration keeps its
 * meaning; a Type 1 objection made active again excludes the patient from releases at once, and
 * their held GP data goes at the next Type 1 sweep, as after migration 1764000048000.
 */
export class WithdrawalsAtEnglandMidnight1764000057000 implements MigrationInterface {
  name = 'WithdrawalsAtEnglandMidnight1764000057000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TEMP TABLE moved_withdrawals ON COMMIT DROP AS
      WITH moved AS (
        UPDATE objection_events e
           SET effective_at = ((e.effective_at AT TIME ZONE 'UTC')::date)::timestamp AT TIME ZONE 'Europe/London',
               effective_on = ((((e.effective_at AT TIME ZONE 'UTC')::date)::timestamp AT TIME ZONE 'Europe/London')
                               AT TIME ZONE 'UTC')::date
         WHERE e.action = 'withdraw' AND e.source <> 'api'
           AND e.effective_at = date_trunc('day', e.effective_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
           AND ((e.effective_at AT TIME ZONE 'UTC')::date)::timestamp AT TIME ZONE 'Europe/London' < e.effective_at
        RETURNING e.nhs_number)
      SELECT DISTINCT nhs_number FROM moved`);
    await q.query(`
      WITH keys AS (
        SELECT e.nhs_number, e.type, max(e.effective_at) AS latest
          FROM objection_events e
         WHERE e.nhs_number IN (SELECT nhs_number FROM moved_withdrawals)
         GROUP BY e.nhs_number, e.type
      ), live AS (
        SELECT r.nhs_number, r.type, max(r.effective_at) AS at
          FROM objection_events r
         WHERE r.action = 'register' AND r.nhs_number IN (SELECT nhs_number FROM moved_withdrawals)
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
