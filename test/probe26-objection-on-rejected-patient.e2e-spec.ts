import { createTestApp, TestApp } from '@custodian/testing';
import { condition, NHS, ndjson, nhsNumber, objection, patient } from './support/fhir';
import { practiceReady, upload } from './support/practice';
import { gpRowsReleasedFor } from './release-helpers';

/**
 * Probe 26, finding 2 (SPEC §2: an objection "is never rejected so that the patient is released";
 * the centre re-checks; `POST /api/practices/:ods/extracts` documents EXTRACT_OBJECTION_UNRESOLVED:
 * "an objection names no patient that can be found; the whole extract is refused"). A patient new
 * to practice A objects; their Patient line is refused for a reason of its own (a birth date in the
 * future or before 1895, an impossible date, a gender code outside FHIR's, a second NHS-number
 * identifier that is invalid). The objection, which names that Patient by reference, is then
 * refused as a line ("no such Patient in this extract or held for this practice"), the extract is
 * accepted, and the objection never reaches the register: what practice B holds of the patient
 * stays and is released. The practice-side extractor, reading the same export, sends the objection
 * with the patient's NHS number (fail closed): the centre's re-check is weaker than the extractor.
 */
describe('probe26: an objection on a Patient whose line is refused', () => {
  let t: TestApp;
  let a: { Authorization: string };
  let b: { Authorization: string };
  let seed = 26_100;
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
                coalesce((SELECT active FROM objection_register WHERE nhs_number = $1 AND type = 'type1'), false) AS type1,
                coalesce((SELECT active FROM objection_register WHERE nhs_number = $1 AND type = 'type2'), false) AS type2`,
        [n],
      )
    ).rows[0] as { events: number; type1: boolean; type2: boolean };

  const odd: [string, (n: string) => Record<string, unknown>][] = [
    ['a birth date in the future', () => ({ birthDate: '2999-01-01' })],
    ['a birth date before 1895', () => ({ birthDate: '1890-01-01' })],
    ['an impossible birth date', () => ({ birthDate: '2001-02-30' })],
    ['a gender code outside FHIR', () => ({ gender: 'X' })],
    [
      'a second, invalid NHS-number identifier',
      (n) => ({
        identifier: [
          { system: NHS, value: '1234567890' },
          { system: NHS, value: n },
        ],
      }),
    ],
  ];

  it.each(odd)(
    'Type 1, the Patient line with %s: the objection applies or the extract is refused',
    async (_, over) => {
      const n = nhsNumber(seed++);
      await upload(t, b, 'B82002', ndjson([patient('b1', n, {}, 'B82002'), condition('b1-c', 'b1')])).expect(
        201,
      );
      const res = await upload(
        t,
        a,
        'A81001',
        ndjson([patient('a1', n, over(n)), objection('a1-o', 'a1', '9Nu0', '2020-01-01T10:00:00Z')]),
      );
      const outcome = { status: res.status, ...(await held(n)) };
      // Fail closed: refused whole (422, nothing stored), or the Type 1 objection in force and B's data gone.
      expect([
        { status: 422, events: 1, type1: false, type2: false },
        { status: 201, events: 0, type1: true, type2: false },
      ]).toContainEqual(outcome);
    },
  );

  it('Type 2, a birth date in the future: the objection applies or the extract is refused', async () => {
    const n = nhsNumber(seed++);
    await upload(t, b, 'B82002', ndjson([patient('b2', n, {}, 'B82002'), condition('b2-c', 'b2')])).expect(
      201,
    );
    const res = await upload(
      t,
      a,
      'A81001',
      ndjson([
        patient('a2', n, { birthDate: '2999-01-01' }),
        objection('a2-o', 'a2', '9Nu4', '2020-01-01T10:00:00Z'),
      ]),
    );
    expect(res.status === 422 || (await held(n)).type2).toBe(true);
  });

  it('the consequence: an identifiable release carries the Type 1 objector held by practice B', async () => {
    const n = nhsNumber(seed++);
    await upload(t, b, 'B82002', ndjson([patient('b3', n, {}, 'B82002'), condition('b3-c', 'b3')])).expect(
      201,
    );
    await upload(
      t,
      a,
      'A81001',
      ndjson([
        patient('a3', n, { birthDate: '1890-01-01' }),
        objection('a3-o', 'a3', '9Nu0', '2020-01-01T10:00:00Z'),
      ]),
    );
    expect(await gpRowsReleasedFor(t, n)).toBe(0);
  });
});
