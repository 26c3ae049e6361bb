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

/**
 * SPEC §2: "Every clinical resource keeps the elements FHIR R4 requires … in the extract". The
 * centre refuses, with its line number and reason, a clinical line without one (or with a value of
 * the wrong R4 type in an element it reads) and stores the rest; a record made in error is not
 * stored; and an objection entry is never refused for any of it (fail closed).
 */
describe('extract intake: FHIR R4 required elements and types', () => {
  let t: TestApp;
  let a: { Authorization: string };
  beforeAll(async () => {
    t = await createTestApp();
    const admin = (await t.as('admin')).auth;
    a = await practiceReady(t, admin, 'A81001');
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
      { line: 6, reason: 'Observation: entered-in-error, recorded in error: not stored' },
      { line: 7, reason: 'Condition: entered-in-error, recorded in error: not stored' },
    ]);
    expect(res.body.objections).toBe(3);
    expect(await held(n[0])).toEqual({ patients: 1, events: ['c-ok', 'm-ok'], register: null });
    expect(await held(n[1])).toEqual({ patients: 0, events: null, register: { type1: true } });
    expect(await held(n[2])).toEqual({ patients: 1, events: null, register: { type2: true } });
    expect(await held(n[3])).toEqual({ patients: 0, events: null, register: { type1: true } });
    expect(res.body.dropped.type1.patients).toBe(2);
  });
});
