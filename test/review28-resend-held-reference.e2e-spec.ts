import { createTestApp, TestApp } from '@custodian/testing';
import { condition, ndjson, nhsNumber, objection, patient } from './support/fhir';
import { activeObjection, practiceReady, upload } from './support/practice';

/**
 * Review 28, finding 9 (SPEC §2: "Re-sending the same extract does not duplicate anything"; an
 * extract report names what was refused). Found by a re-send property. A Type 1 objection names
 * `Patient/z`, a record the practice sent before (held under n0) and no longer sends; the extract
 * carries n0 as `Patient/a`. The first upload resolves z through the registration held under it
 * (`referenced`), registers n0 and deletes what is held of n0, and the registration under z with
 * it. Re-sent unchanged, the same line names "no such Patient": the report differs, and the
 * practice is told an objection was refused that the centre holds. Worse, the first upload can
 * change what the reference resolves to: a withdrawal naming the record's former id applies once,
 * and re-sent it is refused and retracted as no longer carried — the objection is in force again
 * (for Type 1: what is held of the patient is deleted by a re-send).
 */
describe('review28: the same extract re-sent, an objection on a held record it deleted', () => {
  let t: TestApp;
  let a: { Authorization: string };
  beforeAll(async () => {
    t = await createTestApp();
    const admin = (await t.as('admin')).auth;
    a = await practiceReady(t, admin, 'A81001');
  });
  afterAll(() => t?.close());

  // Failed before (fix28): the second upload refused line 3, "subject: no such Patient …".
  it('the second upload reports what the first did', async () => {
    const n0 = nhsNumber(28_995);
    await upload(t, a, 'A81001', ndjson([patient('z', n0), condition('z-c', 'z')])).expect(201);
    const body = ndjson([
      patient('a', n0),
      condition('a-c', 'a'),
      objection('z-o', 'z', '9Nu0', '2020-01-01T10:00:00Z'),
    ]);
    const first = await upload(t, a, 'A81001', body).expect(201);
    const second = await upload(t, a, 'A81001', body).expect(201);
    // Today: the second rejects line 3, "subject: no such Patient in this extract or held for this
    // practice".
    expect(second.body.rejected).toEqual(first.body.rejected);
  });
  // Failed before (fix28): { first: false, second: true }.
  it('a withdrawal by a held reference the upload re-keys: re-sending lifts it', async () => {
    const n0 = nhsNumber(28_998);
    await upload(
      t,
      a,
      'A81001',
      ndjson([
        patient('y', n0),
        condition('y-c', 'y'),
        objection('y-o', 'y', '9Nu4', '2019-01-01T10:00:00Z'),
      ]),
    ).expect(201);
    // The record now sent as `Patient/x` (the same n0); its withdrawal still names `Patient/y`.
    const body = ndjson([
      patient('x', n0),
      condition('x-c', 'x'),
      objection('y-w', 'y', '9Nu5', '2020-01-01T10:00:00Z'),
    ]);
    await upload(t, a, 'A81001', body).expect(201);
    const first = await activeObjection(t, n0, 'type2');
    await upload(t, a, 'A81001', body).expect(201);
    // Today: { first: false, second: true } — the first upload moved A's registration of n0 from
    // `y` to `x`; re-sent, the withdrawal names "no such Patient" and is retracted as no longer
    // carried, and the Type 2 is in force again.
    expect({ first, second: await activeObjection(t, n0, 'type2') }).toEqual({ first: false, second: false });
  });
});
