import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Who a withdrawal withdraws for (SPEC §2 "a practice may withdraw only an objection it recorded or
 * one of a patient currently registered with it"). An outsider's probe (2026-12-07): the register
 * decided by the latest entry whoever made it, so a practice lifted another practice's patient's
 * objection by registering one itself and withdrawing its own, or by first uploading the patient
 * to become their current practice. Now a withdrawal cancels only the registrations it has
 * authority over (objections.sql.ts `CANCELS`): those of its own practice, and — where the
 * practice held the patient when it withdrew — those recorded since it first registered them.
 *
 * - `patient_registrations.registered_since`: when the practice first registered the patient
 *   (`received_at` moves with every changed re-send); rows that exist get their `received_at`.
 * - `objection_events.holder_since` (withdrawals): the withdrawing practice's `registered_since`
 *   at the time, or NULL (its own registrations only). Withdrawals recorded before this change get
 *   `-infinity`: they keep the effect they had, so no register row changes here.
 * - `objections_as_of` (what a release reads) decides by the same rule.
 */
export class WithdrawalAuthority1764000052000 implements MigrationInterface {
  name = 'WithdrawalAuthority1764000052000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE patient_registrations ADD COLUMN registered_since timestamptz`);
    await q.query(`UPDATE patient_registrations SET registered_since = received_at`);
    await q.query(
      `ALTER TABLE patient_registrations ALTER COLUMN registered_since SET DEFAULT now(),
                                         ALTER COLUMN registered_since SET NOT NULL`,
    );
    await q.query(`ALTER TABLE objection_events ADD COLUMN holder_since timestamptz`);
    await q.query(`UPDATE objection_events SET holder_since = '-infinity' WHERE action = 'withdraw'`);
    await q.query(`
      CREATE OR REPLACE FUNCTION objections_as_of(at_time timestamptz)
      RETURNS TABLE (nhs_number char(10), type varchar(5), effective_on date)
      LANGUAGE sql STABLE AS $$
        SELECT r.nhs_number, r.type, max(r.effective_on)
          FROM objection_events r
         WHERE r.action = 'register' AND r.recorded_at <= at_time
           AND NOT EXISTS (
             SELECT 1 FROM objection_events w
              WHERE w.nhs_number = r.nhs_number AND w.type = r.type AND w.action = 'withdraw'
                AND w.recorded_at <= at_time AND w.effective_at > r.effective_at
                AND (w.practice_ods IS NOT DISTINCT FROM r.practice_ods OR w.holder_since <= r.recorded_at))
         GROUP BY r.nhs_number, r.type
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
           ORDER BY e.nhs_number, e.type, e.effective_at DESC, (e.action = 'register') DESC,
                    e.recorded_at DESC, e.id DESC
        ) d WHERE d.action = 'register'
      $$`);
    await q.query(`ALTER TABLE objection_events DROP COLUMN holder_since`);
    await q.query(`ALTER TABLE patient_registrations DROP COLUMN registered_since`);
  }
}
