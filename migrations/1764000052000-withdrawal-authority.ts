import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Who a withdrawal withdraws for (SPEC §2 "a practice may withdraw only an objection it recorded or
 * one of a patient currently registered with it"). An outsider's probe (2026-12-07): the register
 * decided by the latest entry whoever made it, so a practice lifted another practice's patient's
 * objection by registering one itself and withdrawing its own, or by uploading the patient to
 * become their current practice. Now a withdrawal cancels only the registrations it has authority
 * over (objections.sql.ts `cancels`): those of its own practice, and those recorded while the
 * withdrawing practice was the patient's current practice, without a break.
 *
 * - `patients.current_since`: since when the current practice (`practice_ods`) has been it; moved
 *   when another practice becomes current, never by the current practice's re-sends. Rows that
 *   exist get their current registration's `received_at` (the latest time known: fail closed).
 * - `objection_events.holder_since` (withdrawals): the withdrawing practice's `current_since` when
 *   it withdrew as the patient's current practice; NULL otherwise (its own objections only).
 *   Withdrawals recorded before this change get the same, judged as things stand now (NULL unless
 *   their practice is the patient's current practice): a withdrawal made through the hole this
 *   closes is not kept, and the register is decided again — objections may come back (fail closed).
 * - `objections_as_of` (what a release reads) decides by the same rule.
 */
export class WithdrawalAuthority1764000052000 implements MigrationInterface {
  name = 'WithdrawalAuthority1764000052000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE patients ADD COLUMN current_since timestamptz`);
    await q.query(`
      UPDATE patients p SET current_since = coalesce(
        (SELECT r.received_at FROM patient_registrations r WHERE r.patient_id = p.id AND r.practice_ods = p.practice_ods),
        now())`);
    await q.query(
      `ALTER TABLE patients ALTER COLUMN current_since SET DEFAULT now(), ALTER COLUMN current_since SET NOT NULL`,
    );
    await q.query(`ALTER TABLE objection_events ADD COLUMN holder_since timestamptz`);
    await q.query(`
      UPDATE objection_events w SET holder_since = p.current_since
        FROM patients p
       WHERE w.action = 'withdraw' AND p.nhs_number = w.nhs_number AND p.practice_ods = w.practice_ods`);
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
    // The register decided again by the rule (as objections.sql.ts refreshRegisterSql at this version).
    await q.query(`
      WITH keys AS (
        SELECT e.nhs_number, e.type, max(e.effective_at) AS latest FROM objection_events e GROUP BY 1, 2
      ), live AS (
        SELECT r.nhs_number, r.type, max(r.effective_at) AS at
          FROM objection_events r
         WHERE r.action = 'register'
           AND NOT EXISTS (
             SELECT 1 FROM objection_events w
              WHERE w.nhs_number = r.nhs_number AND w.type = r.type AND w.action = 'withdraw'
                AND w.effective_at > r.effective_at
                AND (w.practice_ods IS NOT DISTINCT FROM r.practice_ods OR w.holder_since <= r.recorded_at))
         GROUP BY 1, 2
      ), decided AS (
        SELECT k.nhs_number, k.type, l.at IS NOT NULL AS active, coalesce(l.at, k.latest) AS effective_at
          FROM keys k LEFT JOIN live l ON l.nhs_number = k.nhs_number AND l.type = k.type
      )
      INSERT INTO objection_register AS r (nhs_number, type, active, effective_on, effective_at, updated_at)
      SELECT nhs_number, type, active, (effective_at AT TIME ZONE 'UTC')::date, effective_at, now() FROM decided
      ON CONFLICT (nhs_number, type) DO UPDATE
         SET active = excluded.active, effective_on = excluded.effective_on,
             effective_at = excluded.effective_at, updated_at = now()
       WHERE (r.active, r.effective_at) IS DISTINCT FROM (excluded.active, excluded.effective_at)`);
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
    await q.query(`ALTER TABLE patients DROP COLUMN current_since`);
  }
}
