import { createTestApp, TestApp } from '@custodian/testing';
import { condition, ndjson, nhsNumber, patient, READ } from './support/fhir';
import { practiceReady, upload } from './support/practice';

/**
 * An outsider's probe, 2026-12-07 (probe 14), at the centre: what the register and the held data
 * are after an upload (findings 1, 2, 3) and what the objection API accepts (finding 5).
 */
describe('probe 14: GP extract intake and the objection API', () => {
  let t: TestApp;
  let a: { Authorization: string };
  let seed = 960_000;
  beforeAll(async () => {
    t = await createTestApp();
    const admin = (await t.as('admin')).auth;
    a = await practiceReady(t, admin, 'A81001');
  });
  afterAll(() => t?.close());

  const obs = (id: string, subject: string, code: string, o: Record<string, unknown> = {}) => ({
    resourceType: 'Observation',
    id,
    status: 'final',
    subject: { reference: `Patient/${subject}` },
    code: { coding: [{ system: READ, code }] },
    ...o,
  });
  const type2 = async (n: string) =>
    (await t.sql.query(`SELECT active FROM objection_register WHERE nhs_number = $1 AND type = 'type2'`, [n]))
      .rows[0]?.active as boolean | undefined;

  it.each([
    ['valueCodeableConcept', { valueCodeableConcept: { coding: [{ system: READ, code: '9Nu4' }] } }],
    ['component', { component: [{ code: { coding: [{ system: READ, code: '9Nu4' }] } }] }],
    ['note', { note: [{ text: 'objects: 9Nu4' }] }],
  ])(
    'finding 2: a 9Nu5 withdrawal carrying 9Nu4 in %s does not lift the Type 2 objection',
    async (_w, extra) => {
      const n = nhsNumber(++seed);
      const p = `p${seed}`;
      const res = await upload(
        t,
        a,
        'A81001',
        ndjson([
          patient(p, n),
          condition(`${p}-c`, p),
          obs(`${p}-r`, p, '9Nu4', { effectiveDateTime: '2020-01-01T00:00:00Z' }),
          obs(`${p}-w`, p, '9Nu5', { effectiveDateTime: '2021-01-01T00:00:00Z', ...extra }),
        ]),
      );
      expect(res.status).toBe(201);
      expect(await type2(n)).toBe(true);
      expect(JSON.stringify(res.body.warnings)).toContain('read as the objection');
    },
  );

  it.each([
    [
      'objection dated by two elements',
      { effectiveDateTime: '2019-01-01T00:00:00Z', effectiveInstant: '2021-06-01T12:00:00Z' },
      { effectiveDateTime: '2020-06-01T10:00:00Z' },
    ],
    [
      'withdrawal dated by two elements',
      { effectiveDateTime: '2020-06-01T10:00:00Z' },
      { effectiveInstant: '2019-01-01T00:00:00Z', effectiveDateTime: '2021-06-01T12:00:00Z' },
    ],
    [
      'withdrawal with a period ending before it starts',
      { effectiveDateTime: '2020-06-01T10:00:00Z' },
      { effectivePeriod: { start: '2021-01-01', end: '2019-01-01' } },
    ],
  ])('finding 3: %s — the objection stands', async (_w, reg, wd) => {
    const n = nhsNumber(++seed);
    const p = `p${seed}`;
    const res = await upload(
      t,
      a,
      'A81001',
      ndjson([patient(p, n), obs(`${p}-r`, p, '9Nu4', reg), obs(`${p}-w`, p, '9Nu5', wd)]),
    );
    expect(res.status).toBe(201);
    expect(await type2(n)).toBe(true);
  });

  it('finding 1: a unit that is free text is not stored, and is counted in the report', async () => {
    const n = nhsNumber(++seed);
    const p = `p${seed}`;
    const quantity = (id: string, unit: string) =>
      obs(id, p, '44J3.', { effectiveDateTime: '2012-01-01', valueQuantity: { value: -1, unit } });
    const res = await upload(
      t,
      a,
      'A81001',
      ndjson([
        patient(p, n),
        quantity(`${p}-1`, 'mg Jane Doe LS6 2QB'),
        quantity(`${p}-2`, '{Jane Doe HIV pos}'),
        quantity(`${p}-3`, 'Smith 07700900123'),
        quantity(`${p}-4`, 'mmol/L'),
      ]),
    );
    expect(res.status).toBe(201);
    expect(res.body.dropped.byField['valueQuantity.unit']).toBe(3);
    const { rows } = await t.sql.query(
      `SELECT e.value FROM gp_events e JOIN patients q ON q.id = e.patient_id WHERE q.nhs_number = $1 ORDER BY 1`,
      [n],
    );
    expect(rows.map((r: { value: string }) => r.value)).toEqual(['-1', '-1', '-1', '-1 mmol/L']);
  });

  it('finding 5: POST /api/objections reads an NHS number written 3-3-4 (spaces) as every other path does', async () => {
    const n = nhsNumber(++seed);
    const spaced = `${n.slice(0, 3)} ${n.slice(3, 6)} ${n.slice(6)}`;
    const res = await t.http
      .post('/api/objections')
      .set(a)
      .send({ nhsNumber: spaced, type: 'type2', action: 'register' });
    expect(res.status).toBe(201);
    expect(await type2(n)).toBe(true);
    // The checksum still decides: a spaced number that is no NHS number is refused.
    const wrong = `${spaced.slice(0, -1)}${(Number(n[9]) + 1) % 10}`;
    const bad = await t.http
      .post('/api/objections')
      .set(a)
      .send({ nhsNumber: wrong, type: 'type2', action: 'register' });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('VALIDATION_FAILED');
  });
});
