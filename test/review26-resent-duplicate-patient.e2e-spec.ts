import { createTestApp, TestApp } from '@custodian/testing';
import { condition, ndjson, nhsNumber, patient } from './support/fhir';
import { practiceReady, upload } from './support/practice';

/**
 * Review 26, finding 5 (regression, false positive; SPEC §2: a line is rejected for an invalid NHS
 * number, an impossible date or malformed JSON; re-sending "does not duplicate anything"). Since
 * 08071a0 every earlier Patient line of an id is reported refused ("a later line has the same
 * resource id"), also when the two lines are byte-for-byte the same — an export that writes a
 * record twice, or two exports concatenated. Nothing was lost (the lines are one record), yet the
 * practice is told a patient was refused; the later identical line is the record, the earlier
 * adds nothing. Before, such a line was stored once and not reported.
 */
describe('review26: the same Patient line twice', () => {
  let t: TestApp;
  let a: { Authorization: string };
  beforeAll(async () => {
    t = await createTestApp();
    const admin = (await t.as('admin')).auth;
    a = await practiceReady(t, admin, 'A81001');
  });
  afterAll(() => t?.close());

  it('is one record: stored, not reported refused', async () => {
    const n = nhsNumber(27_950);
    const res = await upload(
      t,
      a,
      'A81001',
      ndjson([patient('g', n), condition('g-c', 'g'), patient('g', n)]),
    ).expect(201);
    // Today: rejected [{ line: 1, reason: 'Patient: a later line has the same resource id' }].
    expect({ patients: res.body.patients, rejected: res.body.rejected }).toEqual({
      patients: 1,
      rejected: [],
    });
  });
});
