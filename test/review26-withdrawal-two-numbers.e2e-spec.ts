import { createTestApp, TestApp } from '@custodian/testing';
import { condition, NHS, ndjson, nhsNumber, objection, patient } from './support/fhir';
import { practiceReady, upload } from './support/practice';

/**
 * Review 26, finding 4 (regression; SPEC §2: "latest instant per type wins"; the extractor's rule
 * that a record of two NHS numbers is one patient, review-19, extractor-people.ts `persons`). The
 * fix refuses a withdrawal by reference whenever the referenced id "may be two patients": any
 * other number on any line of the id, or any registration ever held under the id at the practice.
 * Two ordinary records now can never withdraw a Type 2 objection through their practice's extract:
 * - one Patient line carrying two NHS numbers (an old number kept as a second identifier): the
 *   extractor reads it as one person and applies the withdrawal to both numbers;
 * - a Patient whose NHS number the practice corrected (the id was held under the old number): the
 *   export names one number only, and the extractor applies the withdrawal.
 * Before 08071a0 both withdrawals applied. Each is now refused ("a withdrawal naming two patients")
 * on every upload, and the patient's data stay out of every release against their wish.
 */
describe('review26: a Type 2 withdrawal by reference, the record known by two numbers', () => {
  let t: TestApp;
  let a: { Authorization: string };
  let seed = 27_900;
  beforeAll(async () => {
    t = await createTestApp();
    const admin = (await t.as('admin')).auth;
    a = await practiceReady(t, admin, 'A81001');
  });
  afterAll(() => t?.close());

  const type2 = async (n: string) =>
    (
      await t.sql.query(
        `SELECT coalesce((SELECT active FROM objection_register WHERE nhs_number = $1 AND type = 'type2'), false) AS a`,
        [n],
      )
    ).rows[0].a as boolean;

  it('one Patient line with two NHS numbers', async () => {
    const [n1, n2] = [nhsNumber(seed++), nhsNumber(seed++)];
    const p = patient('w', n1, {
      identifier: [
        { system: NHS, value: n1 },
        { system: NHS, value: n2 },
      ],
    });
    const res = await upload(
      t,
      a,
      'A81001',
      ndjson([
        p,
        condition('w-c', 'w'),
        objection('w-o', 'w', '9Nu4', '2020-01-01T10:00:00Z'),
        objection('w-w', 'w', '9Nu5', '2021-01-01T10:00:00Z'),
      ]),
    ).expect(201);
    // Today: rejected [{ line: 4, reason: 'subject: a withdrawal naming two patients (not applied)' }].
    expect({ rejected: res.body.rejected, n1: await type2(n1), n2: await type2(n2) }).toEqual({
      rejected: [],
      n1: false,
      n2: false,
    });
  });

  it('a Patient whose NHS number the practice corrected', async () => {
    const [old, now] = [nhsNumber(seed++), nhsNumber(seed++)];
    await upload(t, a, 'A81001', ndjson([patient('q', old), condition('q-c', 'q')])).expect(201);
    await upload(t, a, 'A81001', ndjson([patient('q', now), condition('q-c', 'q')])).expect(201);
    const res = await upload(
      t,
      a,
      'A81001',
      ndjson([
        patient('q', now),
        condition('q-c', 'q'),
        objection('q-o', 'q', '9Nu4', '2020-01-01T10:00:00Z'),
        objection('q-w', 'q', '9Nu5', '2021-01-01T10:00:00Z'),
      ]),
    ).expect(201);
    // Today: the withdrawal refused, `now` a Type 2 objector (and `old` made one).
    expect({ rejected: res.body.rejected, now: await type2(now) }).toEqual({ rejected: [], now: false });
  });
});
