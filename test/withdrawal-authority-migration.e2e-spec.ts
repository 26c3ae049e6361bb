import { WithdrawalAuthority1764000052000 } from '../migrations/1764000052000-withdrawal-authority';
import { nhsNumber } from './support/fhir';
import { migrationDatabase } from './support/migration-database';

/**
 * Migration 1764000052000 on history written before it: a withdrawal is judged as things stand now
 * (its practice's authority is kept only where that practice is the patient's current practice),
 * so a withdrawal made through the hole it closes — another practice's objection lifted by a
 * practice that never held the patient — is not kept: the objection comes back (fail closed), in
 * the register and in what a release reads. A practice's withdrawal of its own objection stands.
 */
describe('migration: withdrawal authority on the history before it', () => {
  const database = migrationDatabase();

  it('keeps own withdrawals and the current practice’s, brings back objections lifted by another practice', async () => {
    const m = new WithdrawalAuthority1764000052000();
    const sql = database.sql();
    const q = database.runner();
    await m.down(q);
    for (const ods of ['A81001', 'B82002'])
      await sql.query(
        `INSERT INTO practices (ods_code, name, rollout) VALUES ($1, $2, 'national') ON CONFLICT DO NOTHING`,
        [ods, `Practice ${ods}`],
      );
    // own: A objected and withdrew. lifted: A objected, B (never held) withdrew. holder: A objected
    // while B was the current practice (held from before), B withdrew.
    const [own, lifted, holder] = [nhsNumber(960_001), nhsNumber(960_002), nhsNumber(960_003)];
    const { rows } = await sql.query(
      `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id)
       VALUES ($1, DATE '1970-01-01', 'F', 'LS1 4AP', 'A', 'A81001', 'p1'),
              ($2, DATE '1970-01-01', 'F', 'LS1 4AP', 'A', 'A81001', 'p2'),
              ($3, DATE '1970-01-01', 'F', 'LS1 4AP', 'A', 'B82002', 'p3')
       RETURNING id, practice_ods`,
      [own, lifted, holder],
    );
    for (const r of rows)
      await sql.query(
        `INSERT INTO patient_registrations (patient_id, practice_ods, source_id, birth_date, sex, received_at)
         VALUES ($1, $2, 'r', DATE '1970-01-01', 'F', TIMESTAMPTZ '2026-01-01T00:00:00Z')`,
        [r.id, r.practice_ods],
      );
    await sql.query(
      `INSERT INTO objection_events (nhs_number, type, action, effective_at, recorded_at, source, practice_ods) VALUES
         ($1, 'type2', 'register', TIMESTAMPTZ '2026-02-01T10:00:00Z', TIMESTAMPTZ '2026-02-01T10:00:00Z', 'api', 'A81001'),
         ($1, 'type2', 'withdraw', TIMESTAMPTZ '2026-02-02T10:00:00Z', TIMESTAMPTZ '2026-02-02T10:00:00Z', 'api', 'A81001'),
         ($2, 'type2', 'register', TIMESTAMPTZ '2026-02-01T10:00:00Z', TIMESTAMPTZ '2026-02-01T10:00:00Z', 'api', 'A81001'),
         ($2, 'type2', 'withdraw', TIMESTAMPTZ '2026-02-02T10:00:00Z', TIMESTAMPTZ '2026-02-02T10:00:00Z', 'api', 'B82002'),
         ($3, 'type2', 'register', TIMESTAMPTZ '2026-02-01T10:00:00Z', TIMESTAMPTZ '2026-02-01T10:00:00Z', 'api', 'A81001'),
         ($3, 'type2', 'withdraw', TIMESTAMPTZ '2026-02-02T10:00:00Z', TIMESTAMPTZ '2026-02-02T10:00:00Z', 'api', 'B82002')`,
      [own, lifted, holder],
    );
    await sql.query(
      `INSERT INTO objection_register (nhs_number, type, active, effective_on, effective_at, updated_at)
       SELECT x, 'type2', false, DATE '2026-02-02', TIMESTAMPTZ '2026-02-02T10:00:00Z', now() FROM unnest($1::text[]) x`,
      [[own, lifted, holder]],
    );
    const asOf = async () =>
      (await sql.query(`SELECT nhs_number FROM objections_as_of(now()) ORDER BY nhs_number`)).rows.map(
        (r) => r.nhs_number,
      );
    expect(await asOf()).toEqual([]);

    await m.up(q);
    const active = (
      await sql.query(`SELECT nhs_number, active FROM objection_register ORDER BY nhs_number`, [])
    ).rows.reduce((o: Record<string, boolean>, r) => ({ ...o, [r.nhs_number]: r.active }), {});
    expect(active).toEqual({ [own]: false, [lifted]: true, [holder]: false });
    expect(await asOf()).toEqual([lifted]);
  });
});
