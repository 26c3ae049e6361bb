import { createTestApp, TestApp } from '@custodian/testing';
import { condition, NHS, ndjson, nhsNumber, patient, READ } from './support/fhir';
import { practiceReady, upload } from './support/practice';

/**
 * Review 26, finding 2 (SPEC §2: the centre re-checks; a patient whose record carries an active
 * Type 1 objection is not stored). `identityRows` (staging-block.ts) reads a stored Patient line's
 * NHS numbers beside the one it is stored under only when the text holds the NHS-number system
 * twice, literally. JSON may write `/` as `\/` (PHP's json_encode and others do by default): the
 * line is read as usual, its second number is never staged, and a Type 1 objection naming that
 * second number does not reach the record. The patient is stored under the first number with their
 * diagnosis and no objection. The same export with `/` unescaped keeps the patient out (the
 * extractor does either way: it parses the line).
 */
describe('review26: a Patient line with two NHS numbers, its slashes escaped', () => {
  let t: TestApp;
  let a: { Authorization: string };
  let seed = 27_700;
  beforeAll(async () => {
    t = await createTestApp();
    const admin = (await t.as('admin')).auth;
    a = await practiceReady(t, admin, 'A81001');
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

  it.each([
    ['as written', false],
    ['with `\\/`', true],
  ])('a Type 1 objection naming the second number keeps the record out (%s)', async (_, escaped) => {
    const [n1, n2] = [nhsNumber(seed++), nhsNumber(seed++)];
    const id = `d${seed}`;
    const p = JSON.stringify(
      patient(id, n1, {
        identifier: [
          { system: NHS, value: n1 },
          { system: NHS, value: n2 },
        ],
      }),
    );
    const res = await upload(
      t,
      a,
      'A81001',
      `${escaped ? p.replace(/\//g, '\\/') : p}\n` +
        ndjson([
          condition(`${id}-c`, id),
          {
            resourceType: 'Observation',
            id: `${id}-o`,
            subject: { identifier: { system: NHS, value: n2 } },
            code: { coding: [{ system: READ, code: '9Nu0' }] },
            effectiveDateTime: '2020-01-01T10:00:00Z',
          },
        ]),
    ).expect(201);
    expect(res.body.rejected).toEqual([]);
    // Today, escaped: n1 stored with its diagnosis ({ events: 1, type1: false }).
    expect(await held(n1)).toEqual({ events: 0, type1: true });
  });
});
