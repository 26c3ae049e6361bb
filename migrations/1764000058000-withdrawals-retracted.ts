import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Withdrawals a practice's later extract no longer carries stop lifting objections (SPEC §2, fail
 * closed; a review, 2026-12-07). The register's history only grew: a withdrawal that a practice then
 * marked entered-in-error, re-dated or removed from its record stayed the latest entry, and the
 * objection stayed lifted — the patient's data stayed held and was released.
 *
 * `objection_events.retracted_at`: set by the intake on this practice's own extract withdrawals for
 * the patients an extract names when the extract does not carry them again (never a registration,
 * never an API entry). A withdrawal retracted at `t` cancels nothing as of `t` or later; what a
 * release saw before is unchanged. `objections_as_of` follows; the register is decided again by the
 * intake for the NHS numbers concerned (nothing is retracted yet here).
 */
export class WithdrawalsRetracted1764000058000 implements MigrationInterface {
  name = 'WithdrawalsRetracted1764000058000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE objection_events ADD COLUMN retracted_at timestamptz`);
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
                AND (w.retracted_at IS NULL OR w.retracted_at > at_time)
                AND (w.practice_ods IS NOT DISTINCT FROM r.practice_ods OR w.holder_since <= r.recorded_at))
         GROUP BY r.nhs_number, r.type
      $$`);
  }

  async down(q: QueryRunner): Promise<void> {
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
    await q.query(`ALTER TABLE objection_events DROP COLUMN retracted_at`);
  }
}
