import { createTestApp, TestApp } from '@custodian/testing';
import { condition, NHS, ndjson, nhsNumber, patient, READ } from './support/fhir';
import { practiceReady, upload, heldEvents } from './support/practice';
import { gpRowsReleasedFor } from './release-helpers';

/**
 * Review 31, finding 1 (SPEC §2: the register "is what every release consults"; a Type 1 objector has
 * no GP data at the centre; docs: an API objection is never weaker than the same objection written in
 * the extract). A practice that corrects a patient's NHS number keeps, at the centre, the registration
 * and events stored under the former number (review-28: `referenced`/`reach` treat "the patients
 * registered under the id at the practice (its number corrected since)" as the same person). The
 * aliases are built from the extract's Patient lines only (`xal` over `idn`), and since 503ce50 the
 * pair the record gave before the correction is retracted (`retracted_at`). So an API objection on
 * the patient's current number no longer reaches what is still held under the former one: Type 2 is
 * released, Type 1 stays held and released. The same objection written in the practice's extract
 * (by the same NHS number) does reach it (control).
 */
describe('review31: an API objection after an NHS number correction', () => {
  let t: TestApp;
  let a: { Authorization: string };
  let b: { Authorization: string };
  let seed = 31_100;
  beforeAll(async () => {
    t = await createTestApp();
    const admin = (await t.as('admin')).auth;
    a = await practiceReady(t, admin, 'A81001');
    b = await practiceReady(t, admin, 'B82002');
  });
  afterAll(() => t?.close());

  const events = (n: string) => heldEvents(t, n);
  const both = (id: string, first: string, second: string) =>
    patient(id, first, { identifier: [first, second].map((value) => ({ system: NHS, value })) });
  const byNumber = (id: string, nhs: string, code: string, date: string) => ({
    resourceType: 'Observation',
    id,
    status: 'final',
    subject: { identifier: { system: NHS, value: nhs } },
    code: { coding: [{ system: READ, code }] },
    effectiveDateTime: date,
  });

  it('control: the same Type 2 written in A’s extract by the current number reaches the former number’s data', async () => {
    const [n0, n1] = [nhsNumber(seed++), nhsNumber(seed++)];
    await upload(t, a, 'A81001', ndjson([both('c', n0, n1), condition('c-c', 'c')])).expect(201);
    await upload(
      t,
      a,
      'A81001',
      ndjson([patient('c', n1), condition('c-c2', 'c'), byNumber('c-o', n1, '9Nu4', '2024-01-01T10:00:00Z')]),
    ).expect(201);
    expect({ held: await events(n0), released: await gpRowsReleasedFor(t, n0) }).toEqual({
      held: 1,
      released: 0,
    });
  });

  // Passed before 503ce50 (the pair was kept): the retraction releases the former number's data.
  it('Type 2 through the API on the current number: the data held under the former number is released', async () => {
    const [n0, n1] = [nhsNumber(seed++), nhsNumber(seed++)];
    // A's record gives both numbers (stored under n0), then A corrects it to n1 alone.
    await upload(t, a, 'A81001', ndjson([both('d', n0, n1), condition('d-c', 'd')])).expect(201);
    await upload(t, a, 'A81001', ndjson([patient('d', n1), condition('d-c2', 'd')])).expect(201);
    await t.http
      .post('/api/objections')
      .set(b)
      .send({ nhsNumber: n1, type: 'type2', action: 'register' })
      .expect(201);
    // Before (review-31): { held: 1, released: 1 }.
    expect({ held: await events(n0), released: await gpRowsReleasedFor(t, n0) }).toEqual({
      held: 1,
      released: 0,
    });
  });

  // Passed before 503ce50 (withAliases reached n0 and deleted it).
  it('Type 1 through the API on the current number: the data held under the former number stays held and released', async () => {
    const [n0, n1] = [nhsNumber(seed++), nhsNumber(seed++)];
    await upload(t, a, 'A81001', ndjson([both('e', n0, n1), condition('e-c', 'e')])).expect(201);
    await upload(t, a, 'A81001', ndjson([patient('e', n1), condition('e-c2', 'e')])).expect(201);
    await t.http
      .post('/api/objections')
      .set(a)
      .send({ nhsNumber: n1, type: 'type1', action: 'register' })
      .expect(201);
    // Before (review-31): { held: 1, released: 1 }.until A's next extract (t1x reaches n0 through the id).
    expect({ held: await events(n0), released: await gpRowsReleasedFor(t, n0) }).toEqual({
      held: 0,
      released: 0,
    });
  });

  // Never covered (no pair is ever recorded for a plain correction): the same gap without the retraction.
  it('a plain correction (the record never gave both): Type 2 through the API releases the former number’s data', async () => {
    const [n0, n1] = [nhsNumber(seed++), nhsNumber(seed++)];
    await upload(t, a, 'A81001', ndjson([patient('f', n0), condition('f-c', 'f')])).expect(201);
    await upload(t, a, 'A81001', ndjson([patient('f', n1), condition('f-c2', 'f')])).expect(201);
    await t.http
      .post('/api/objections')
      .set(b)
      .send({ nhsNumber: n1, type: 'type2', action: 'register' })
      .expect(201);
    expect({ held: await events(n0), released: await gpRowsReleasedFor(t, n0) }).toEqual({
      held: 1,
      released: 0,
    });
  });
});
