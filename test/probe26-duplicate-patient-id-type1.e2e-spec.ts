import { createTestApp, TestApp } from '@custodian/testing';
import { condition, ndjson, nhsNumber, objection, patient } from './support/fhir';
import { practiceReady, upload } from './support/practice';
import { gpRowsReleasedFor } from './release-helpers';

/**
 * Probe 26, finding 1 (SPEC §2 "a patient in an extract whose record carries an active Type 1
 * objection is not stored, and any GP-derived data already held for them is deleted"; objections
 * fail closed). One practice record, `Patient/d`, appears twice in an extract with two NHS numbers
 * (an NHS number corrected in the practice system, an export that writes both versions). The record
 * carries a Type 1 objection. The centre keeps only the later line: the objection is recorded for
 * the second number, the first number's Patient line disappears without a rejection or a warning,
 * and the GP data already held under the first number stay and are released.
 */
describe('probe26: one Patient id with two NHS numbers and a Type 1 objection', () => {
  let t: TestApp;
  let a: { Authorization: string };
  beforeAll(async () => {
    t = await createTestApp();
    const admin = (await t.as('admin')).auth;
    a = await practiceReady(t, admin, 'A81001');
  });
  afterAll(() => t?.close());

  it('the Type 1 objection of Patient/d reaches every NHS number the extract gives Patient/d', async () => {
    const [n1, n2] = [nhsNumber(26_001), nhsNumber(26_002)];
    // Held from an earlier extract: Patient/d with n1 and one diagnosis.
    await upload(t, a, 'A81001', ndjson([patient('d', n1), condition('d-c', 'd')])).expect(201);

    // The new extract: Patient/d as n1, its diagnosis, Patient/d as n2, and d's Type 1 objection.
    await upload(
      t,
      a,
      'A81001',
      ndjson([
        patient('d', n1),
        condition('d-c', 'd'),
        patient('d', n2),
        objection('d-o', 'd', '9Nu0', '2020-01-01T10:00:00Z'),
      ]),
    ).expect(201);

    const { rows } = await t.sql.query(
      `SELECT p.nhs_number,
              (SELECT count(*)::int FROM gp_events e WHERE e.patient_id = p.id) AS events,
              EXISTS (SELECT 1 FROM objection_register g
                       WHERE g.nhs_number = p.nhs_number AND g.type = 'type1' AND g.active) AS type1
         FROM patients p WHERE p.nhs_number = $1`,
      [n1],
    );
    // The consequence: an identifiable release (s251) carries n1's diagnosis.
    const released = await gpRowsReleasedFor(t, n1);

    // Fail closed: n1 is a Type 1 objector (its GP data deleted, never released). Today n1 stays
    // held with its diagnosis and no objection, the extract report says nothing of the line it
    // dropped, and the release carries n1's row.
    const heldWithoutObjection = rows.filter((r) => r.events > 0 && !r.type1);
    expect({ heldWithoutObjection, released }).toEqual({ heldWithoutObjection: [], released: 0 });
  });

  it('across extracts: Patient/e sent again with a corrected NHS number and a Type 1 objection', async () => {
    const [n1, n2] = [nhsNumber(26_003), nhsNumber(26_004)];
    await upload(t, a, 'A81001', ndjson([patient('e', n1), condition('e-c', 'e')])).expect(201);
    // The same practice record, its NHS number corrected, now objecting (Type 1).
    await upload(
      t,
      a,
      'A81001',
      ndjson([
        patient('e', n2),
        condition('e-c', 'e'),
        objection('e-o', 'e', '9Nu0', '2020-01-01T10:00:00Z'),
      ]),
    ).expect(201);
    const { rows } = await t.sql.query(
      `SELECT p.nhs_number, (SELECT count(*)::int FROM gp_events e WHERE e.patient_id = p.id) AS events
         FROM patients p
        WHERE p.practice_ods = 'A81001' AND p.nhs_number = ANY($1)
          AND NOT EXISTS (SELECT 1 FROM objection_register g
                           WHERE g.nhs_number = p.nhs_number AND g.type = 'type1' AND g.active)`,
      [[n1, n2]],
    );
    // The record that objected keeps its diagnosis at the centre under its former number.
    expect(rows).toEqual([]);
  });
});
