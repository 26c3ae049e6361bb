import { createTestApp, TestApp } from '@custodian/testing';
import { condition, NHS, ndjson, nhsNumber, patient, READ } from './support/fhir';
import { practiceReady, upload } from './support/practice';
import { gpRowsReleasedFor } from './release-helpers';

/**
 * Review 31, finding 3 (low: no real record carries more than 10 NHS numbers). 5fd7561 pairs each
 * number of a record of more than ALIASES_ALL_PAIRS_MAX (10) numbers with the record's lowest only.
 * The record is stored under its first identifier, not its lowest, so an API objection on any other
 * number reaches the lowest and stops (one step): the stored record is released (Type 2). The same
 * objection written in the practice's extract by that number reaches the whole line (`reach`), so
 * the API reading is weaker than the extract's — the property the docs promise.
 */
describe('review31: a record of 11 NHS numbers', () => {
  let t: TestApp;
  let a: { Authorization: string };
  let b: { Authorization: string };
  let seed = 31_300;
  beforeAll(async () => {
    t = await createTestApp();
    const admin = (await t.as('admin')).auth;
    a = await practiceReady(t, admin, 'A81001');
    b = await practiceReady(t, admin, 'B82002');
  });
  afterAll(() => t?.close());

  const eleven = () => Array.from({ length: 11 }, () => nhsNumber(seed++)).sort();
  // Stored under the highest (its first identifier); the objection names a middle one.
  const record = (id: string, ns: string[]) =>
    patient(id, ns[10], {
      identifier: [ns[10], ...ns.slice(0, 10)].map((value) => ({ system: NHS, value })),
    });

  it('control: the Type 2 written in A’s extract by a middle number keeps the stored record out', async () => {
    const ns = eleven();
    await upload(
      t,
      a,
      'A81001',
      ndjson([
        record('c', ns),
        condition('c-c', 'c'),
        {
          resourceType: 'Observation',
          id: 'c-o',
          status: 'final',
          subject: { identifier: { system: NHS, value: ns[5] } },
          code: { coding: [{ system: READ, code: '9Nu4' }] },
          effectiveDateTime: '2024-01-01T10:00:00Z',
        },
      ]),
    ).expect(201);
    expect(await gpRowsReleasedFor(t, ns[10])).toBe(0);
  });

  it('Type 2 through the API on a middle number: the record stored under another is released', async () => {
    const ns = eleven();
    await upload(t, a, 'A81001', ndjson([record('d', ns), condition('d-c', 'd')])).expect(201);
    await t.http
      .post('/api/objections')
      .set(b)
      .send({ nhsNumber: ns[5], type: 'type2', action: 'register' })
      .expect(201);
    // Before (review-31): 1 (ns[5] pairs with ns[0] only).
    expect(await gpRowsReleasedFor(t, ns[10])).toBe(0);
  });
});
