import { createTestApp, TestApp } from '@custodian/testing';
import { condition, NHS, ndjson, nhsNumber, patient } from './support/fhir';
import { practiceReady, upload, heldEvents } from './support/practice';
import { gpRowsReleasedFor } from './release-helpers';

/**
 * Review 28, finding 2 (SPEC §2: the register "is what every release consults, whichever practice
 * recorded it"; §5 step 2: record-level tiers exclude every Type 2 objector, Type 1 patients have no
 * GP data at the centre). 7353dd4 reads a Patient record's every NHS number as one person's: an
 * objection sent in the extract by either number reaches the record (`reach`), and a Type 1
 * objector's record is kept out by any of its numbers (`t1x`). The API path and the release do not:
 * the centre keeps only the number a record is stored under, so an objection recorded through the
 * API for the record's other number reaches nothing held. The same objection written in the
 * practice's extract would have kept the record out (Type 1) or out of the release (Type 2).
 */
describe('review28: an API objection for the number a held record carries beside its own', () => {
  let t: TestApp;
  let a: { Authorization: string };
  let b: { Authorization: string };
  let seed = 28_800;
  beforeAll(async () => {
    t = await createTestApp();
    const admin = (await t.as('admin')).auth;
    a = await practiceReady(t, admin, 'A81001');
    b = await practiceReady(t, admin, 'B82002');
  });
  afterAll(() => t?.close());

  const events = (n: string) => heldEvents(t, n);
  const record = (id: string, stored: string, beside: string) =>
    patient(id, stored, {
      identifier: [
        { system: NHS, value: stored },
        { system: NHS, value: beside },
      ],
    });
  const released = (n: string) => gpRowsReleasedFor(t, n);

  // Failed before nhs_number_aliases (review-28).
  it('Type 1 through the API: the record stays held until (and unless) the practice sends again', async () => {
    const [n1, n2] = [nhsNumber(seed++), nhsNumber(seed++)];
    await upload(t, a, 'A81001', ndjson([record('e', n2, n1), condition('e-c', 'e')])).expect(201);
    await t.http
      .post('/api/objections')
      .set(b)
      .send({ nhsNumber: n1, type: 'type1', action: 'register' })
      .expect(201);
    // Before the fix: 1 held, 1 released. A's next extract of the same record deletes it (t1x), so the
    // centre does judge the record n1's; until then it is held and released.
    expect({ held: await events(n2), released: await released(n2) }).toEqual({ held: 0, released: 0 });
  });

  // Failed before nhs_number_aliases (review-28).
  it('Type 2 through the API: the record is released at a record-level tier, on every release', async () => {
    const [n1, n2] = [nhsNumber(seed++), nhsNumber(seed++)];
    await upload(t, a, 'A81001', ndjson([record('f', n2, n1), condition('f-c', 'f')])).expect(201);
    await t.http
      .post('/api/objections')
      .set(b)
      .send({ nhsNumber: n1, type: 'type2', action: 'register' })
      .expect(201);
    // The same extract re-sent changes nothing (a Type 2 keeps nobody out).
    await upload(t, a, 'A81001', ndjson([record('f', n2, n1), condition('f-c', 'f')])).expect(201);
    // Before the fix: 1. Sent in A's extract by n1 (`9Nu4` on identifier n1), the objection reaches n2.
    expect(await released(n2)).toBe(0);
  });
  // Failed before nhs_number_aliases (review-28).
  it('Type 1 through the API, then the record: kept out at A as the objector, stored at the next practice', async () => {
    const [n1, n2] = [nhsNumber(seed++), nhsNumber(seed++)];
    await t.http
      .post('/api/objections')
      .set(b)
      .send({ nhsNumber: n1, type: 'type1', action: 'register' })
      .expect(201);
    const res = await upload(t, a, 'A81001', ndjson([record('g', n2, n1), condition('g-c', 'g')])).expect(
      201,
    );
    // A's extract judges the record n1's: kept out (`t1x`), nothing held under n2. But n2 is not
    // registered, so the next extract that sends n2 (the patient registers at B) stores it.
    expect({ keptOut: res.body.dropped.type1.patients, held: await events(n2) }).toEqual({
      keptOut: 1,
      held: 0,
    });
    await upload(t, b, 'B82002', ndjson([patient('g2', n2, {}, 'B82002'), condition('g2-c', 'g2')])).expect(
      201,
    );
    // Before the fix: 1 (and released). Sent by A with the objection in its extract (by n1), n2 is registered.
    expect(await events(n2)).toBe(0);
  });
});
