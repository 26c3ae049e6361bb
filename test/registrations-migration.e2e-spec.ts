import type { Client } from 'pg';
import type { QueryRunner } from 'typeorm';
import { createTestDatabase, TestDatabase } from '@custodian/testing';
import { PatientRegistrations1764000011000 } from '../migrations/1764000011000-patient-registrations';

/**
 * Migration 1764000011000 on data stored before it: each patient becomes one registration at its
 * practice with its demographics, and each event belongs to it (taken down to the old shape, data
 * written as the old intake did, then up again).
 */
describe('migration: existing patients become registrations', () => {
  let db: TestDatabase;
  let sql: Client;
  beforeAll(async () => {
    db = await createTestDatabase();
    sql = await db.superuser();
  });
  afterAll(() => db?.drop());

  it('each patient → one registration with its demographics; each event → its practice; down and up again', async () => {
    const m = new PatientRegistrations1764000011000();
    const q = { query: (s: string) => sql.query(s).then((r) => r.rows) } as unknown as QueryRunner;
    await m.down(q);
    await sql.query(
      `INSERT INTO practices (ods_code, name, rollout) VALUES ('A81001', 'A', 'national'), ('B82002', 'B', 'national')`,
    );
    await sql.query(`
      INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id, extract_id)
      VALUES ('9434765919', '1970-03-04', 'F', 'LS1 4AP', 'A', 'A81001', 'pa', '00000000-0000-4000-8000-000000000001'),
             ('9434765870', '1981-01-02', 'M', NULL, NULL, 'B82002', 'pb', NULL)`);
    await sql.query(`
      INSERT INTO gp_events (patient_id, resource_type, resource_id, code_system, code, event_date)
      SELECT id, 'condition', 'c1', 'snomed', '22298006', DATE '2012-05-01' FROM patients`);

    await m.up(q);
    const regs = await sql.query(`
      SELECT p.nhs_number, r.practice_ods, r.source_id, r.birth_date::text AS birth, r.sex, r.postcode, r.ethnicity,
             r.extract_id::text AS extract, r.received_at = p.updated_at AS received
        FROM patient_registrations r JOIN patients p ON p.id = r.patient_id ORDER BY 1`);
    expect(regs.rows).toEqual([
      {
        nhs_number: '9434765870',
        practice_ods: 'B82002',
        source_id: 'pb',
        birth: '1981-01-02',
        sex: 'M',
        postcode: null,
        ethnicity: null,
        extract: null,
        received: true,
      },
      {
        nhs_number: '9434765919',
        practice_ods: 'A81001',
        source_id: 'pa',
        birth: '1970-03-04',
        sex: 'F',
        postcode: 'LS1 4AP',
        ethnicity: 'A',
        extract: '00000000-0000-4000-8000-000000000001',
        received: true,
      },
    ]);
    const events = await sql.query(`
      SELECT p.nhs_number, g.practice_ods FROM gp_events g JOIN patients p ON p.id = g.patient_id ORDER BY 1`);
    expect(events.rows).toEqual([
      { nhs_number: '9434765870', practice_ods: 'B82002' },
      { nhs_number: '9434765919', practice_ods: 'A81001' },
    ]);
    // The same resource id from a second practice is now a row of its own.
    await sql.query(`
      INSERT INTO gp_events (patient_id, practice_ods, resource_type, resource_id, code_system, code, event_date)
      SELECT id, 'B82002', 'condition', 'c1', 'snomed', '38341003', DATE '2013-01-01' FROM patients WHERE nhs_number = '9434765919'`);
    // Down keeps the current practice's copy of a resource sent by two practices.
    await m.down(q);
    const after = await sql.query(`SELECT code FROM gp_events ORDER BY 1`);
    expect(after.rows).toEqual([{ code: '22298006' }, { code: '22298006' }]);
    await m.up(q);
  });
});
