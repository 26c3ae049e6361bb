import { createTestApp, TestApp } from '@custodian/testing';
import {
  condition,
  medication,
  ndjson,
  nhsNumber,
  objection,
  observation,
  patient,
  procedure,
} from './support/fhir';
import { practiceReady, upload } from './support/practice';
import { IN_ERROR } from '../libs/practices/src/fhir';

/**
 * SPEC §2: "Every clinical resource keeps the elements FHIR R4 requires … in the extract". The
 * centre refuses, with its line number and reason, a clinical line without one (or with a value of
 * the wrong R4 type in an element it reads) and stores the rest; a record made in error is not
 * stored; and an objection entry is never refused for any of it (fail closed).
 */
describe('extract intake: FHIR R4 required elements and types', () => {
  let t: TestApp;
  let a: { Authorization: string };
  let b: { Authorization: string };
  beforeAll(async () => {
    t = await createTestApp();
    const admin = (await t.as('admin')).auth;
    a = await practiceReady(t, admin, 'A81001');
    b = await practiceReady(t, admin, 'A81002');
  });
  afterAll(() => t?.close());

  const held = async (n: string) =>
    (
      await t.sql.query(
        `SELECT (SELECT count(*)::int FROM patients WHERE nhs_number = $1) AS patients,
                (SELECT array_agg(e.resource_id ORDER BY e.resource_id) FROM gp_events e JOIN patients p ON p.id = e.patient_id
                  WHERE p.nhs_number = $1) AS events,
                (SELECT jsonb_object_agg(type, active) FROM objection_register WHERE nhs_number = $1) AS register`,
        [n],
      )
    ).rows[0] as { patients: number; events: string[] | null; register: Record<string, boolean> | null };

  it('refuses clinical lines without an element R4 requires, or recorded in error, line by line; objections however odd still count', async () => {
    const n = [nhsNumber(231_001), nhsNumber(231_002), nhsNumber(231_003), nhsNumber(231_004)];
    const inError = {
      coding: [
        { system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'entered-in-error' },
      ],
    };
    const body = ndjson([
      /* 1 */ patient('p1', n[0]),
      /* 2 */ medication('m-nostatus', 'p1', { status: undefined }),
      /* 3 */ medication('m-ok', 'p1'),
      /* 4 */ procedure('pr-badstatus', 'p1', { status: 'done' }),
      /* 5 */ observation('o-noseconds', 'p1', { effectiveDateTime: '2015-06-07T10:00' }),
      /* 6 */ observation('o-inerror', 'p1', { status: 'entered-in-error' }),
      /* 7 */ condition('c-inerror', 'p1', { verificationStatus: inError }),
      /* 8 */ condition('c-ok', 'p1'),
      // A Type 1 objection without status and with an unreadable date: still an objection.
      /* 9 */ patient('p2', n[1]),
      /* 10 */ objection('x1', 'p2', '9Nu0', 'garbage'),
      /* 11 */ condition('c2', 'p2'),
      // A Type 2 objection with a status outside the value set.
      /* 12 */ patient('p3', n[2]),
      /* 13 */ { ...objection('x2', 'p3', '9Nu4', '2020-01-01T10:00:00Z'), status: 'bogus' },
      // A Type 1 objection marked entered-in-error, dated without an offset: still an objection (fail closed).
      /* 14 */ patient('p4', n[3]),
      /* 15 */ {
        ...objection('x3', 'p4', '827241000000103', '2020-01-01T10:00'),
        status: 'entered-in-error',
      },
      /* 16 */ procedure('pr4', 'p4'),
    ]);
    const res = await upload(t, a, 'A81001', body).expect(201);
    expect(res.body.rejected).toEqual([
      { line: 2, reason: 'MedicationStatement.status: missing (FHIR R4 requires it)' },
      { line: 4, reason: 'Procedure.status: not a code of its FHIR R4 value set' },
      { line: 5, reason: 'Observation.effectiveDateTime: invalid date' },
    ]);
    // Recorded in error: not stored, and said so among the warnings (below: what an earlier extract
    // stored under its id goes).
    expect(res.body.warnings).toEqual(
      expect.arrayContaining([
        { line: 6, reason: `Observation: ${IN_ERROR}` },
        { line: 7, reason: `Condition: ${IN_ERROR}` },
      ]),
    );
    expect(res.body.objections).toBe(3);
    expect(await held(n[0])).toEqual({ patients: 1, events: ['c-ok', 'm-ok'], register: null });
    expect(await held(n[1])).toEqual({ patients: 0, events: null, register: { type1: true } });
    expect(await held(n[2])).toEqual({ patients: 1, events: null, register: { type2: true } });
    expect(await held(n[3])).toEqual({ patients: 0, events: null, register: { type1: true } });
    expect(res.body.dropped.type1.patients).toBe(2);
  });

  it("a record re-sent as entered-in-error takes back what an earlier extract stored under its id; another practice's, and a later line of the same id, stay (a helper found the error kept)", async () => {
    const n = nhsNumber(231_101);
    const inError = {
      coding: [
        { system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'entered-in-error' },
      ],
    };
    await upload(
      t,
      a,
      'A81001',
      ndjson([
        patient('q1', n),
        condition('c-wrong', 'q1'),
        observation('o-wrong', 'q1'),
        medication('m-kept', 'q1'),
        procedure('pr-back', 'q1'),
      ]),
    ).expect(201);
    expect((await held(n)).events).toEqual(['c-wrong', 'm-kept', 'o-wrong', 'pr-back']);
    // The same resource ids in another practice's record of the patient are not this practice's.
    const other = await upload(
      t,
      b,
      'A81002',
      ndjson([patient('z1', n, {}, 'A81002'), condition('c-wrong', 'z1')]),
    );
    expect(other.body).toMatchObject({ resources: 1, rejected: [] });
    const second = await upload(
      t,
      a,
      'A81001',
      ndjson([
        /* 1 */ patient('q1', n),
        /* 2 */ condition('c-wrong', 'q1', { verificationStatus: inError }),
        /* 3 */ observation('o-wrong', 'q1', { status: 'entered-in-error' }),
        /* 4 */ medication('m-kept', 'q1'),
        // Marked in error, then corrected in a later line of the same extract: stored.
        /* 5 */ procedure('pr-back', 'q1', { status: 'entered-in-error' }),
        /* 6 */ procedure('pr-back', 'q1'),
      ]),
    ).expect(201);
    expect(second.body.rejected).toEqual([]);
    expect(second.body.warnings).toEqual(
      expect.arrayContaining([
        { line: 2, reason: `Condition: ${IN_ERROR}` },
        { line: 3, reason: `Observation: ${IN_ERROR}` },
        { line: 5, reason: `Procedure: ${IN_ERROR}` },
      ]),
    );
    const { rows } = await t.sql.query(
      `SELECT e.practice_ods, e.resource_id FROM gp_events e JOIN patients p ON p.id = e.patient_id
        WHERE p.nhs_number = $1 ORDER BY 1, 2`,
      [n],
    );
    // On the trail: how many of the practice's events the extract took back.
    const { rows: trail } = await t.sql.query(
      `SELECT details->'retracted' AS n FROM audit_log WHERE action = 'extract.upload' AND subject_id = $1`,
      [second.body.extractId],
    );
    expect(trail).toEqual([{ n: 2 }]);
    expect(rows).toEqual([
      { practice_ods: 'A81001', resource_id: 'm-kept' },
      { practice_ods: 'A81001', resource_id: 'pr-back' },
      { practice_ods: 'A81002', resource_id: 'c-wrong' },
    ]);
  });
  it('a refuted diagnosis, a procedure not done, a medication not taken, a cancelled observation are no events: not stored, and the earlier copy under the id goes (they were stored as if they happened)', async () => {
    const [n, m] = [nhsNumber(231_151), nhsNumber(231_152)];
    const refuted = {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'refuted' }],
    };
    const confirmed = {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' }],
    };
    // First extract: a provisional diagnosis and what was planned, as the practice first recorded them.
    await upload(
      t,
      a,
      'A81001',
      ndjson([
        patient('r1', n),
        condition('c-prov', 'r1'),
        procedure('pr-plan', 'r1', { status: 'preparation' }),
        medication('m-pres', 'r1', { status: 'intended' }),
        observation('o-booked', 'r1', { status: 'registered' }),
        condition('c-conf', 'r1', { verificationStatus: confirmed }),
      ]),
    ).expect(201);
    expect((await held(n)).events).toEqual(['c-conf', 'c-prov', 'm-pres', 'o-booked', 'pr-plan']);
    const res = await upload(
      t,
      a,
      'A81001',
      ndjson([
        /* 1 */ patient('r1', n),
        /* 2 */ condition('c-prov', 'r1', { verificationStatus: refuted }),
        /* 3 */ procedure('pr-plan', 'r1', { status: 'not-done' }),
        /* 4 */ medication('m-pres', 'r1', { status: 'not-taken' }),
        /* 5 */ observation('o-booked', 'r1', { status: 'cancelled' }),
        /* 6 */ condition('c-conf', 'r1', { verificationStatus: confirmed }),
        // A patient new to the centre whose only diagnosis was ruled out: nothing of it is stored.
        /* 7 */ patient('r2', m),
        /* 8 */ condition('c-new', 'r2', { verificationStatus: refuted }),
      ]),
    ).expect(201);
    expect(res.body.rejected).toEqual([]);
    const why = (w: string) =>
      `${w}, a record that it did not happen: not stored, and what the centre held under its id is removed`;
    expect(res.body.warnings).toEqual(
      expect.arrayContaining([
        { line: 2, reason: `Condition: ${why('refuted')}` },
        { line: 3, reason: `Procedure: ${why('not-done')}` },
        { line: 4, reason: `MedicationStatement: ${why('not-taken')}` },
        { line: 5, reason: `Observation: ${why('cancelled')}` },
        { line: 8, reason: `Condition: ${why('refuted')}` },
      ]),
    );
    expect((await held(n)).events).toEqual(['c-conf']);
    expect(await held(m)).toEqual({ patients: 1, events: null, register: null });
    const { rows: trail } = await t.sql.query(
      `SELECT details->'retracted' AS n FROM audit_log WHERE action = 'extract.upload' AND subject_id = $1`,
      [res.body.extractId],
    );
    expect(trail).toEqual([{ n: 4 }]);
  });

  it("a withdrawal recorded in error (or cancelled) withdraws nothing: the objection stands, the patient is not released (an attack on the day's change)", async () => {
    const [t1, t2, both] = [nhsNumber(231_201), nhsNumber(231_202), nhsNumber(231_203)];
    const res = await upload(
      t,
      a,
      'A81001',
      ndjson([
        /* 1 */ patient('w1', t1),
        /* 2 */ condition('c-w1', 'w1'),
        /* 3 */ { ...objection('ow1', 'w1', '9Nu0', '2020-01-01T00:00:00Z'), status: 'final' },
        /* 4 */ { ...objection('ow1b', 'w1', '9Nu1', '2021-01-01T00:00:00Z'), status: 'entered-in-error' },
        /* 5 */ patient('w2', t2),
        /* 6 */ { ...objection('ow2', 'w2', '9Nu4', '2020-01-01T00:00:00Z'), status: 'final' },
        /* 7 */ { ...objection('ow2b', 'w2', '9Nu5', '2021-01-01T00:00:00Z'), status: 'CANCELLED' },
        /* 8 */ patient('w3', both),
        /* 9 */ { ...objection('ow3', 'w3', '9Nu4', '2020-01-01T00:00:00Z'), status: 'final' },
        // Registering Type 1 and withdrawing Type 2, in error: the registration stands, not the withdrawal.
        /* 10 */ {
          ...objection('ow3b', 'w3', '9Nu0', '2021-01-01T00:00:00Z'),
          code: {
            coding: [
              { system: 'http://read.info/readv2', code: '9Nu0' },
              { system: 'http://read.info/readv2', code: '9Nu5' },
            ],
          },
          status: 'entered-in-error',
        },
      ]),
    ).expect(201);
    expect(res.body.rejected).toEqual(
      expect.arrayContaining([
        { line: 4, reason: 'Observation: a withdrawal recorded in error or cancelled (not applied)' },
        { line: 7, reason: 'Observation: a withdrawal recorded in error or cancelled (not applied)' },
      ]),
    );
    expect(await held(t1)).toEqual({ patients: 0, events: null, register: { type1: true } });
    expect(await held(t2)).toEqual({ patients: 1, events: null, register: { type2: true } });
    expect(await held(both)).toEqual({ patients: 0, events: null, register: { type1: true, type2: true } });
  });
});
