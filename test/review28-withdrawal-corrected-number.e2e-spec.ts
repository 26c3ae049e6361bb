import { createTestApp, TestApp } from '@custodian/testing';
import { condition, NHS, ndjson, nhsNumber, objection, patient } from './support/fhir';
import { activeObjection, practiceReady, upload, heldEvents } from './support/practice';

/**
 * Review 28, finding 3 (SPEC §2: objections by the latest instant; a withdrawal withdraws; an
 * extract "never changes another practice's registration" and does not lose a patient's data
 * wrongly). 7353dd4 makes an objection by reference reach every patient registered under the id at
 * the practice (`referenced`, `reach`: a number since corrected included), but its withdrawal by
 * the same reference only the numbers of the id's lines in this extract (`wref`: "not a number since
 * corrected"). A practice that corrected a patient's NHS number, and whose record carries an
 * objection and its withdrawal, makes the patient's former number an objector for good: no entry it
 * can send withdraws it. For Type 1, everything held under the former number (the patient's history,
 * at every practice) is deleted, although the patient withdrew.
 */
describe('review28: an objection and its withdrawal by reference, the NHS number corrected', () => {
  let t: TestApp;
  let a: { Authorization: string };
  let seed = 28_900;
  beforeAll(async () => {
    t = await createTestApp();
    const admin = (await t.as('admin')).auth;
    a = await practiceReady(t, admin, 'A81001');
  });
  afterAll(() => t?.close());

  const events = (n: string) => heldEvents(t, n);

  it.each([
    ['Type 1', '9Nu0', '9Nu1', 'type1'],
    ['Type 2', '9Nu4', '9Nu5', 'type2'],
  ] as const)('%s: the former number stays an objector', async (_, reg, wd, type) => {
    const [old, now] = [nhsNumber(seed++), nhsNumber(seed++)];
    const id = `q${seed}`;
    await upload(t, a, 'A81001', ndjson([patient(id, old), condition(`${id}-c`, id)])).expect(201);
    const body = ndjson([
      patient(id, now),
      condition(`${id}-c`, id),
      objection(`${id}-o`, id, reg, '2020-01-01T10:00:00Z'),
      objection(`${id}-w`, id, wd, '2021-01-01T10:00:00Z'),
    ]);
    const res = await upload(t, a, 'A81001', body).expect(201);
    // The monthly re-send of the same record changes nothing either way.
    await upload(t, a, 'A81001', body).expect(201);
    // Today (Type 1): { rejected: [], now: false, old: true, oldEvents: 0 } — `old` registered by
    // the reference, never withdrawn by it, and its history deleted. Type 2: old: true.
    expect({
      rejected: res.body.rejected,
      now: await activeObjection(t, now, type),
      old: await activeObjection(t, old, type),
      oldEvents: await events(old),
    }).toEqual({ rejected: [], now: false, old: false, oldEvents: 1 });
  });
  // Failed before (fix28): n1 stayed true.
  it('a duplicate record beside the referenced one: its other number stays a Type 2 objector', async () => {
    const [n0, n1] = [nhsNumber(seed++), nhsNumber(seed++)];
    const res = await upload(
      t,
      a,
      'A81001',
      ndjson([
        patient('c', n0),
        patient('d', n0, { identifier: [n0, n1].map((value) => ({ system: NHS, value })) }),
        condition('d-c', 'd'),
        objection('c-o', 'c', '9Nu4', '2020-01-01T10:00:00Z'),
        objection('c-w', 'c', '9Nu5', '2021-01-01T10:00:00Z'),
      ]),
    ).expect(201);
    // The registration on `Patient/c` reaches n0 and, beside it on `Patient/d`, n1; the withdrawal
    // on the same reference n0 only (the extractor withdraws both: one record carries them all).
    // Today: n1 true.
    expect({
      withdrawalRefused: res.body.rejected.some((r: { line: number }) => r.line === 5),
      n0: await activeObjection(t, n0, 'type2'),
      n1: await activeObjection(t, n1, 'type2'),
    }).toEqual({ withdrawalRefused: false, n0: false, n1: false });
  });
});
