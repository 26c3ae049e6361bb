import { createTestApp, TestApp } from '@custodian/testing';
import { condition, ETHNIC, ndjson, nhsNumber, objection, patient, SCT } from './support/fhir';
import { practiceReady, upload } from './support/practice';

/**
 * SPEC §2 "Registrations": one registration per (patient, practice) with that practice's
 * demographics and events; an extract from one practice never changes another's; the current
 * practice is the registration most recently received in an extract.
 */
describe('registrations: a patient registered at two practices', () => {
  let t: TestApp;
  let a: { Authorization: string };
  let b: { Authorization: string };
  beforeAll(async () => {
    t = await createTestApp();
    const admin = (await t.as('admin')).auth;
    a = await practiceReady(t, admin, 'A81001');
    b = await practiceReady(t, admin, 'B82002');
  });
  afterAll(() => t?.close());

  const code = (c: string) => ({ code: { coding: [{ system: SCT, code: c }] } });
  const fromA = (n: string) =>
    ndjson([
      patient('pa', n),
      condition('c1', 'pa', code('111111')),
      condition('c2', 'pa', { onsetDateTime: '2013-01-01' }),
    ]);
  const fromB = (n: string) =>
    ndjson([
      patient(
        'pb',
        n,
        {
          birthDate: '1971-06-07',
          gender: 'male',
          address: [{ postalCode: 'M1 1AE' }],
          extension: [{ url: ETHNIC, valueCodeableConcept: { coding: [{ system: 'x', code: 'B' }] } }],
        },
        'B82002',
      ),
      condition('c1', 'pb', code('999999')),
      condition('c3', 'pb', { onsetDateTime: '2016-01-01' }),
    ]);

  const registrations = async (n: string) =>
    (
      await t.sql.query(
        `SELECT r.practice_ods AS ods, r.source_id AS id, r.birth_date::text AS birth, r.sex, r.postcode,
                r.ethnicity AS eth, r.extract_id::text AS extract, r.received_at
           FROM patient_registrations r JOIN patients p ON p.id = r.patient_id
          WHERE p.nhs_number = $1 ORDER BY r.practice_ods`,
        [n],
      )
    ).rows;
  const events = async (n: string) =>
    (
      await t.sql.query(
        `SELECT g.practice_ods AS ods, g.resource_id AS id, g.code, g.event_date::text AS date, g.extract_id::text AS extract
           FROM gp_events g JOIN patients p ON p.id = g.patient_id
          WHERE p.nhs_number = $1 ORDER BY g.practice_ods, g.resource_id`,
        [n],
      )
    ).rows;
  const current = async (n: string) =>
    (
      await t.sql.query(
        `SELECT practice_ods AS ods, source_id AS id, birth_date::text AS birth, sex, postcode, ethnicity AS eth
           FROM patients WHERE nhs_number = $1`,
        [n],
      )
    ).rows;

  it("B's extract of A's patient keeps A's registration and events; B becomes current; A's re-extract makes A current again without touching B", async () => {
    const n = nhsNumber(800_001);
    const ra = await upload(t, a, 'A81001', fromA(n)).expect(201);
    expect(ra.body).toMatchObject({ patients: 1, resources: 2, rejected: [] });
    const rb = await upload(t, b, 'B82002', fromB(n)).expect(201);
    expect(rb.body).toMatchObject({ patients: 1, resources: 2, rejected: [] });

    const regs = await registrations(n);
    expect(regs.map(({ received_at: _r, extract: _e, ...r }) => r)).toEqual([
      { ods: 'A81001', id: 'pa', birth: '1970-03-04', sex: 'F', postcode: 'LS1 4AP', eth: 'A' },
      { ods: 'B82002', id: 'pb', birth: '1971-06-07', sex: 'M', postcode: 'M1 1AE', eth: 'B' },
    ]);
    expect(regs.map((r) => r.extract)).toEqual([ra.body.extractId, rb.body.extractId]);
    expect(await events(n)).toEqual([
      { ods: 'A81001', id: 'c1', code: '111111', date: '2012-05-01', extract: ra.body.extractId },
      { ods: 'A81001', id: 'c2', code: '22298006', date: '2013-01-01', extract: ra.body.extractId },
      { ods: 'B82002', id: 'c1', code: '999999', date: '2012-05-01', extract: rb.body.extractId },
      { ods: 'B82002', id: 'c3', code: '22298006', date: '2016-01-01', extract: rb.body.extractId },
    ]);
    // The patient's derived row is the current (latest) registration's: B's.
    expect(await current(n)).toEqual([
      { ods: 'B82002', id: 'pb', birth: '1971-06-07', sex: 'M', postcode: 'M1 1AE', eth: 'B' },
    ]);

    // A sends the same again: nothing of A's changed, but A's is now the latest registration.
    const bBefore = { regs: (await registrations(n))[1], events: (await events(n)).slice(2) };
    const again = await upload(t, a, 'A81001', fromA(n)).expect(201);
    expect(again.body).toMatchObject({ patients: 1, resources: 0, rejected: [] });
    expect(await current(n)).toEqual([
      { ods: 'A81001', id: 'pa', birth: '1970-03-04', sex: 'F', postcode: 'LS1 4AP', eth: 'A' },
    ]);
    expect({ regs: (await registrations(n))[1], events: (await events(n)).slice(2) }).toEqual(bBefore);
    expect((await events(n)).slice(0, 2).map((e) => e.code)).toEqual(['111111', '22298006']);

    // A's current registration sent once more, unchanged: nothing written at all.
    const third = await upload(t, a, 'A81001', fromA(n)).expect(201);
    expect(third.body).toMatchObject({ patients: 0, resources: 0 });

    // B refers to its own (no longer current) registration by B's local id: still B's patient.
    const late = await upload(
      t,
      b,
      'B82002',
      ndjson([condition('c4', 'pb', { onsetDateTime: '2017-01-01' })]),
    ).expect(201);
    expect(late.body).toMatchObject({ resources: 1, rejected: [] });
    expect((await events(n)).filter((e) => e.ods === 'B82002').map((e) => e.id)).toEqual(['c1', 'c3', 'c4']);
    expect((await current(n))[0].ods).toBe('A81001');
  });

  it('a reference Patient (no birth date) of a held registration changes neither its demographics nor the current practice', async () => {
    const n = nhsNumber(800_002);
    await upload(t, a, 'A81001', fromA(n)).expect(201);
    await upload(t, b, 'B82002', fromB(n)).expect(201);
    const before = await registrations(n);
    const ref = await upload(
      t,
      a,
      'A81001',
      ndjson([
        {
          resourceType: 'Patient',
          id: 'pa',
          identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: n }],
        },
      ]),
    ).expect(201);
    expect(ref.body).toMatchObject({ patients: 0, rejected: [] });
    expect(await registrations(n)).toEqual(before);
    expect((await current(n))[0].ods).toBe('B82002');
  });

  it("a Type 1 objection in one practice's extract deletes every registration and all their events", async () => {
    const n = nhsNumber(800_003);
    await upload(t, a, 'A81001', fromA(n)).expect(201);
    await upload(t, b, 'B82002', fromB(n)).expect(201);
    // A practice's Patient id is one person (intake/subjects.ts `reach`): every patient this file's
    // earlier tests registered at A81001 under `pa` is taken for the objector's too, and deleted.
    const { rows: underId } = await t.sql.query(
      `SELECT count(DISTINCT p.nhs_number)::int AS n FROM patient_registrations r JOIN patients p ON p.id = r.patient_id
        WHERE r.practice_ods = 'A81001' AND r.source_id = 'pa'`,
    );
    const res = await upload(
      t,
      a,
      'A81001',
      ndjson([patient('pa', n), objection('pa-t1', 'pa', '9Nu0', '2024-01-01')]),
    ).expect(201);
    expect(res.body.dropped.type1).toMatchObject({ patients: 1, heldDeleted: underId[0].n });
    const { rows } = await t.sql.query(
      `SELECT (SELECT count(*) FROM patients WHERE nhs_number = $1)::int AS p,
              (SELECT count(*) FROM patient_registrations r WHERE r.source_id IN ('pa', 'pb')
                 AND NOT EXISTS (SELECT 1 FROM patients q WHERE q.id = r.patient_id))::int AS orphans,
              (SELECT count(*) FROM gp_events g WHERE NOT EXISTS (SELECT 1 FROM patients q WHERE q.id = g.patient_id))::int AS e`,
      [n],
    );
    expect(rows[0]).toEqual({ p: 0, orphans: 0, e: 0 });
  });
});
