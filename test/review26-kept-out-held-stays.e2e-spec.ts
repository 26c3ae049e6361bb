import { createTestApp, TestApp } from '@custodian/testing';
import { condition, NHS, ndjson, nhsNumber, patient, READ } from './support/fhir';
import { practiceReady, upload, heldEvents } from './support/practice';
import { gpRowsReleasedFor } from './release-helpers';

/**
 * Review 26, finding 3 (SPEC §2: "a patient in an extract whose record carries an active Type 1
 * objection is not stored, and any GP-derived data already held for them is deleted in the same
 * transaction"; §5 step 2). The fix keeps a Patient out of an extract when a number its id carries
 * is an active Type 1 objector's (`t1x`, intake/objections.ts) — so the centre judges the record an
 * objector's — but deletes what is held only for `t1`, the objector's own numbers. What the centre
 * already held under the record's other number stays, with no objection, and is released. The
 * extract report says one Type 1 patient kept out.
 */
describe('review26: a record kept out as a Type 1 objector, what is held under its other number stays', () => {
  let t: TestApp;
  let a: { Authorization: string };
  let b: { Authorization: string };
  let seed = 27_800;
  beforeAll(async () => {
    t = await createTestApp();
    const admin = (await t.as('admin')).auth;
    a = await practiceReady(t, admin, 'A81001');
    b = await practiceReady(t, admin, 'B82002');
  });
  afterAll(() => t?.close());

  const events = (n: string) => heldEvents(t, n);

  it('a Type 1 objection registered through the API for a number the record carries beside its own', async () => {
    const [n1, n2] = [nhsNumber(seed++), nhsNumber(seed++)];
    await upload(t, a, 'A81001', ndjson([patient('e', n2), condition('e-c', 'e')])).expect(201);
    await t.http
      .post('/api/objections')
      .set(b)
      .send({ nhsNumber: n1, type: 'type1', action: 'register' })
      .expect(201);
    const res = await upload(
      t,
      a,
      'A81001',
      ndjson([
        patient('e', n2, {
          identifier: [
            { system: NHS, value: n2 },
            { system: NHS, value: n1 },
          ],
        }),
        condition('e-c2', 'e'),
      ]),
    ).expect(201);
    expect(res.body.dropped.type1.patients).toBe(1);
    // Today: e-c, held under n2 from the first extract, stays (1).
    expect(await events(n2)).toBe(0);
  });

  it('one id written twice, the Type 1 objection naming the first number: the second number released', async () => {
    const [n1, n2] = [nhsNumber(seed++), nhsNumber(seed++)];
    await upload(t, a, 'A81001', ndjson([patient('f', n2), condition('f-c', 'f')])).expect(201);
    const res = await upload(
      t,
      a,
      'A81001',
      ndjson([
        patient('f', n1),
        patient('f', n2),
        condition('f-c2', 'f'),
        {
          resourceType: 'Observation',
          id: 'f-o',
          subject: { identifier: { system: NHS, value: n1 } },
          code: { coding: [{ system: READ, code: '9Nu0' }] },
          effectiveDateTime: '2020-01-01T10:00:00Z',
        },
      ]),
    ).expect(201);
    expect(res.body.dropped.type1.patients).toBe(1);
    const released = await gpRowsReleasedFor(t, n2);
    // Today: { held: 1, released: 1 }.
    expect({ held: await events(n2), released }).toEqual({ held: 0, released: 0 });
  });
  it.each([
    ['stored', {}],
    ['refused for its birth date', { birthDate: '2999-01-01' }],
  ])(
    'the id held under its former number, the Type 1 objection by its new number, its line %s: nothing of the id stays',
    async (_, over) => {
      const [old, now] = [nhsNumber(seed++), nhsNumber(seed++)];
      const id = `k${seed}`;
      await upload(t, a, 'A81001', ndjson([patient(id, old), condition(`${id}-c`, id)])).expect(201);
      await upload(
        t,
        a,
        'A81001',
        ndjson([
          patient(id, now, over),
          condition(`${id}-c2`, id),
          {
            resourceType: 'Observation',
            id: `${id}-o`,
            subject: { identifier: { system: NHS, value: now } },
            code: { coding: [{ system: READ, code: '9Nu0' }] },
            effectiveDateTime: '2020-01-01T10:00:00Z',
          },
        ]),
      ).expect(201);
      // An objection by reference to the id reaches `old` (every patient registered under the id);
      // by number it does not. Today: `old` keeps its diagnosis, and with the line refused the new
      // one (`-c2`) is stored under `old` too.
      expect(await events(old)).toBe(0);
    },
  );
});
