import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runExtractor } from '@custodian/practices';
import { createTestApp, TestApp } from '@custodian/testing';
import { condition, NHS, ndjson, nhsNumber, patient, READ } from './support/fhir';
import { practiceReady, upload } from './support/practice';
import { gpRowsReleasedFor } from './release-helpers';

/**
 * Review 28, finding 4 (SPEC §2: "Duplicate Patient records with one NHS number are one patient: an
 * objection on either applies"; the centre re-checks, never weaker than the extractor; §5 step 2).
 * Found by review28-extractor-centre-diff-seq. The export has `Patient/a` [n0, n1] and `Patient/b`
 * [n2, n1]: b is a duplicate of a (one NHS number, n1). A Type 2 objection names n0.
 *
 * - Raw, the registration reaches one step (`reach`): n0, n1. Not n2: b is released at a
 *   record-level tier.
 * - The same with Type 1: the registration reaches n0, n1, then `t1x` reaches one step around each
 *   of them, n2 included: b is kept out. The centre's two types disagree on who the person is.
 * - Through the extractor, the objection leaves for n0 and n1 (its one step), and the centre widens
 *   n1 once more: n2 gets the Type 2. The raw export is weaker than the extractor's output.
 *
 * Fixed by `nhs_number_aliases`: the pairs each record gives (n0–n1, n2–n1) are kept, and an
 * objection applies one step through them wherever the register is read, so n1's Type 2 reaches n2.
 */
describe('review28: a Type 2 objection does not reach a duplicate record through the number they share', () => {
  let t: TestApp;
  let a: { Authorization: string };
  let b: { Authorization: string };
  let seed = 28_950;
  beforeAll(async () => {
    t = await createTestApp();
    const admin = (await t.as('admin')).auth;
    a = await practiceReady(t, admin, 'A81001');
    b = await practiceReady(t, admin, 'B82002');
  });
  afterAll(() => t?.close());

  const state = async (n: string) =>
    (
      await t.sql.query(
        `SELECT EXISTS (SELECT 1 FROM gp_events e JOIN patients p ON p.id = e.patient_id WHERE p.nhs_number = $1) AS held,
                coalesce((SELECT active FROM objection_register WHERE nhs_number = $1 AND type = 'type1'), false) AS type1,
                coalesce((SELECT active FROM objection_register WHERE nhs_number = $1 AND type = 'type2'), false) AS type2`,
        [n],
      )
    ).rows[0] as { held: boolean; type1: boolean; type2: boolean };

  const exportOf = (n: string[], code: string, ods: string) =>
    ndjson([
      patient('a', n[0], { identifier: [n[0], n[1]].map((value) => ({ system: NHS, value })) }, ods),
      condition('a-c', 'a'),
      patient('b', n[2], { identifier: [n[2], n[1]].map((value) => ({ system: NHS, value })) }, ods),
      condition('b-c', 'b'),
      {
        resourceType: 'Observation',
        id: 'o',
        status: 'final',
        subject: { identifier: { system: NHS, value: n[0] } },
        code: { coding: [{ system: READ, code }] },
        effectiveDateTime: '2020-01-01T10:00:00Z',
      },
    ]);
  const numbers = () => [nhsNumber(seed++), nhsNumber(seed++), nhsNumber(seed++)];

  it('Type 1, raw (control): b is kept out', async () => {
    const n = numbers();
    await upload(t, a, 'A81001', exportOf(n, '9Nu0', 'A81001')).expect(201);
    expect((await state(n[2])).held).toBe(false);
  });

  it('Type 2, through the extractor (control): n2 gets the objection', async () => {
    const n = numbers();
    const dir = mkdtempSync(path.join(tmpdir(), 'review28-dup-'));
    const input = path.join(dir, 'in.ndjson');
    const output = path.join(dir, 'out.ndjson');
    writeFileSync(input, exportOf(n, '9Nu4', 'B82002'));
    await runExtractor({ practiceOds: 'B82002', input, output });
    await upload(t, b, 'B82002', readFileSync(output, 'utf8')).expect(201);
    expect((await state(n[2])).type2).toBe(true);
  });

  // Failed before nhs_number_aliases (review-28): b was released at every record-level tier. The
  // register row stays n0's and n1's (the registration's one step); b's n2 is an objector's through
  // the record that gives it beside n1, in every release (`objectionsAsOf`).
  it('Type 2, raw: b is no objector in the register, but every release treats n2 as one, as through the extractor', async () => {
    const n = numbers();
    await upload(t, a, 'A81001', exportOf(n, '9Nu4', 'A81001')).expect(201);
    expect(await state(n[2])).toEqual({ held: true, type1: false, type2: false });
    expect(await gpRowsReleasedFor(t, n[0])).toBe(0);
    expect(await gpRowsReleasedFor(t, n[2])).toBe(0);
  });
});
