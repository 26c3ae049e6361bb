import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runExtractor } from '@custodian/practices';
import { createTestApp, TestApp } from '@custodian/testing';
import { condition, NHS, ndjson, nhsNumber, objection, patient } from './support/fhir';
import { activeObjection, practiceReady, upload } from './support/practice';

/**
 * Review 28, finding 7 (SPEC §2: objections by the latest instant; a withdrawal withdraws). Found
 * by review28-extractor-centre-diff-seq. The export has `Patient/b` [n0, n1], a Type 2 objection on
 * `Patient/b` (2019) and its withdrawal (2020). The extractor writes the registration for both
 * numbers (`objectionLines`: "every valid NHS number of the persons it names") but the withdrawal for
 * the first only (`subject.identifier` n0). At the centre n1 stays a Type 2 objector, for good: the
 * patient's withdrawal is half applied, and their records leave no record-level release. Sent raw,
 * the centre applies the withdrawal to both (7353dd4's `wref`).
 */
describe('review28: through the extractor, a withdrawal on a record of two numbers reaches the first', () => {
  let t: TestApp;
  let a: { Authorization: string };
  let seed = 28_980;
  beforeAll(async () => {
    t = await createTestApp();
    const admin = (await t.as('admin')).auth;
    a = await practiceReady(t, admin, 'A81001');
  });
  afterAll(() => t?.close());

  const exportOf = (n0: string, n1: string) =>
    ndjson([
      patient('b', n0, { identifier: [n0, n1].map((value) => ({ system: NHS, value })) }),
      condition('b-c', 'b'),
      objection('b-o', 'b', '9Nu4', '2019-06-01T10:00:00Z'),
      objection('b-w', 'b', '9Nu5', '2020-01-01T10:00:00Z'),
    ]);
  const state = async (n0: string, n1: string) => ({
    n0: await activeObjection(t, n0, 'type2'),
    n1: await activeObjection(t, n1, 'type2'),
  });

  it('raw (control): withdrawn for both numbers', async () => {
    const [n0, n1] = [nhsNumber(seed++), nhsNumber(seed++)];
    await upload(t, a, 'A81001', exportOf(n0, n1)).expect(201);
    expect(await state(n0, n1)).toEqual({ n0: false, n1: false });
  });

  // Failed before the extractor wrote the withdrawal for every number (review-28).
  it('through the extractor: withdrawn for both numbers', async () => {
    const [n0, n1] = [nhsNumber(seed++), nhsNumber(seed++)];
    const dir = mkdtempSync(path.join(tmpdir(), 'review28-wd-'));
    writeFileSync(path.join(dir, 'in'), exportOf(n0, n1));
    await runExtractor({ practiceOds: 'A81001', input: path.join(dir, 'in'), output: path.join(dir, 'out') });
    await upload(t, a, 'A81001', readFileSync(path.join(dir, 'out'), 'utf8')).expect(201);
    // Before the fix: { n0: false, n1: true }.
    expect(await state(n0, n1)).toEqual({ n0: false, n1: false });
  });
});
