import { createTestApp, TestApp } from '@custodian/testing';
import { condition, NHS, ndjson, nhsNumber, objection, patient } from './support/fhir';
import { practiceReady, upload } from './support/practice';

/**
 * Review 26, finding 1 (SPEC §2: an objection "is never rejected so that the patient is released";
 * the centre re-checks; OpenAPI EXTRACT_OBJECTION_UNRESOLVED). The fix of probe-26 finding 2 stages
 * a refused Patient line's NHS numbers (`identityRows`, staging-block.ts) for objections only — but
 * reads the line more narrowly than the intake's reader (fhir.ts) and the extractor do. A Patient
 * line the intake refuses for its birth date, whose `identifier` is one object instead of an array,
 * whose `resourceType` is written with a JSON escape, or whose `id` is a JSON number, gets no row:
 * the Type 1 objection that names it by reference is refused as naming nobody, the extract is
 * accepted (201), and what practice B holds of the patient stays (and is released). The extractor,
 * reading the first two exports, holds the patient back and sends the objection with their NHS
 * number (the first as a marker and an objection by identifier).
 */
describe('review26: an objection on a refused Patient line the identity rows do not read', () => {
  let t: TestApp;
  let a: { Authorization: string };
  let b: { Authorization: string };
  let seed = 27_600;
  beforeAll(async () => {
    t = await createTestApp();
    const admin = (await t.as('admin')).auth;
    a = await practiceReady(t, admin, 'A81001');
    b = await practiceReady(t, admin, 'B82002');
  });
  afterAll(() => t?.close());

  const held = async (n: string) =>
    (
      await t.sql.query(
        `SELECT (SELECT count(*)::int FROM gp_events e JOIN patients p ON p.id = e.patient_id WHERE p.nhs_number = $1) AS events,
                coalesce((SELECT active FROM objection_register WHERE nhs_number = $1 AND type = 'type1'), false) AS type1`,
        [n],
      )
    ).rows[0] as { events: number; type1: boolean };

  const future = { birthDate: '2999-01-01' };
  const cases: [string, string, (n: string) => string][] = [
    [
      '`identifier` one object, not an array',
      'a1',
      (n) => JSON.stringify(patient('a1', n, { ...future, identifier: { system: NHS, value: n } })),
    ],
    [
      '`resourceType` written "\\u0050atient"',
      'a1',
      (n) => JSON.stringify(patient('a1', n, future)).replace('"Patient"', '"\\u0050atient"'),
    ],
    ['`id` a JSON number', '12345', (n) => JSON.stringify(patient('x', n, { ...future, id: 12345 }))],
  ];

  it.each(cases)(
    'Type 1 on a Patient line refused for its birth date, %s: the objection applies or the extract is refused',
    async (_, ref, line) => {
      const n = nhsNumber(seed++);
      await upload(t, b, 'B82002', ndjson([patient('b1', n, {}, 'B82002'), condition('b1-c', 'b1')])).expect(
        201,
      );
      const res = await upload(
        t,
        a,
        'A81001',
        `${line(n)}\n${JSON.stringify(objection(`${ref}-o`, ref, '9Nu0', '2020-01-01T10:00:00Z'))}\n`,
      );
      const outcome = { status: res.status, ...(await held(n)) };
      // Today: { status: 201, events: 1, type1: false } — the objection refused as naming nobody.
      expect([
        { status: 422, events: 1, type1: false },
        { status: 201, events: 0, type1: true },
      ]).toContainEqual(outcome);
    },
  );
});
