import { createTestApp, TestApp } from '@custodian/testing';
import { condition, ndjson, nhsNumber, patient, READ } from './support/fhir';
import { practiceReady, upload } from './support/practice';

/**
 * A registration read no earlier than it could be (fail closed). A registration dated by a day, a
 * month or a year covers every instant of it; a withdrawal dated within that span may have come
 * before the registration, so it must not lift the objection. A registration was read at the span's
 * start (00:00:00 of a day, the first of a month), and a withdrawal later the same day released the
 * patient. A period stays read at its start: SPEC §2 says so ("period start, else the time received").
 */
describe('objections dated imprecisely: a withdrawal within the registration’s span leaves it in force', () => {
  let t: TestApp;
  let a: { Authorization: string };
  let seed = 971_000;
  beforeAll(async () => {
    t = await createTestApp();
    a = await practiceReady(t, (await t.as('admin')).auth, 'A81001');
  });
  afterAll(() => t?.close());

  const obs = (id: string, subject: string, code: string, o: Record<string, unknown>) => ({
    resourceType: 'Observation',
    id,
    status: 'final',
    subject: { reference: `Patient/${subject}` },
    code: { coding: [{ system: READ, code }] },
    ...o,
  });
  const active = async (n: string) =>
    (await t.sql.query(`SELECT active FROM objection_register WHERE nhs_number = $1 AND type = 'type2'`, [n]))
      .rows[0]?.active as boolean | undefined;

  const both = async (registration: Record<string, unknown>, withdrawal: Record<string, unknown>) => {
    const n = nhsNumber(++seed);
    const p = `p${seed}`;
    const res = await upload(
      t,
      a,
      'A81001',
      ndjson([
        patient(p, n),
        condition(`${p}-c`, p),
        obs(`${p}-r`, p, '9Nu4', registration),
        obs(`${p}-w`, p, '9Nu5', withdrawal),
      ]),
    );
    expect(res.status).toBe(201);
    return active(n);
  };

  it.each([
    ['a day', { effectiveDateTime: '2020-05-03' }, { effectiveDateTime: '2020-05-03T10:00:00Z' }],
    ['a month', { effectiveDateTime: '2020-05' }, { effectiveDateTime: '2020-05-20T10:00:00Z' }],
    ['a year', { effectiveDateTime: '2020' }, { effectiveDateTime: '2020-11-01' }],
    // A period is read at its start (SPEC §2), a start given as a day at that day's end.
    [
      'a period starting on a day',
      { effectivePeriod: { start: '2020-01-01', end: '2020-06-30' } },
      { effectiveDateTime: '2020-01-01T12:00:00Z' },
    ],
  ])('registration dated by %s, withdrawal within it: still objecting', async (_what, r, w) => {
    expect(await both(r, w)).toBe(true);
  });

  it('a withdrawal after the whole span still lifts the objection', async () => {
    expect(await both({ effectiveDateTime: '2020-05' }, { effectiveDateTime: '2020-06-01T00:00:00Z' })).toBe(
      false,
    );
    // SPEC §2 reads a registration's period at its start, so a withdrawal inside it lifts it.
    expect(
      await both(
        { effectivePeriod: { start: '2020-01-01T00:00:00Z', end: '2020-06-30T00:00:00Z' } },
        { effectiveDateTime: '2020-03-01T00:00:00Z' },
      ),
    ).toBe(false);
  });

  it('a registration dated today, by day or year, counts from the time received (not later)', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const n = nhsNumber(++seed);
    const p = `p${seed}`;
    const res = await upload(
      t,
      a,
      'A81001',
      ndjson([patient(p, n), condition(`${p}-c`, p), obs(`${p}-r`, p, '9Nu4', { effectiveDateTime: today })]),
    ).expect(201);
    const { rows } = await t.sql.query(
      `SELECT effective_at <= now() AS past, effective_at > now() - interval '1 hour' AS recent FROM objection_events WHERE nhs_number = $1`,
      [n],
    );
    expect(rows).toEqual([{ past: true, recent: true }]);
    expect(JSON.stringify(res.body.warnings)).toContain('date only');
  });
});
