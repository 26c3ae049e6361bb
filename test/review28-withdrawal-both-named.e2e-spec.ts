import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runExtractor } from '@custodian/practices';
import { createTestApp, TestApp } from '@custodian/testing';
import { condition, NHS, ndjson, nhsNumber, objection, patient, READ } from './support/fhir';
import { activeObjection, practiceReady, upload } from './support/practice';

/**
 * Review 28, finding 6 (SPEC §2; review-19 and 7353dd4: "a record of two numbers is one patient").
 * A withdrawal naming `Patient/w` and, beside it, an NHS number that record carries is refused as
 * "naming two patients" when the number is not the one the record is stored under (`named_beside`
 * is compared with the stored number only), although 7353dd4 applies a withdrawal by reference alone
 * to each number of the record. The practice's withdrawal is lost and the objection stays in force
 * for both numbers. The extractor counts one person (`People.persons`) but writes the withdrawal for
 * the number named only (finding 7): m stays an objector on that path too.
 */
describe('review28: a withdrawal naming a record and its second NHS number', () => {
  let t: TestApp;
  let a: { Authorization: string };
  let seed = 28_970;
  beforeAll(async () => {
    t = await createTestApp();
    const admin = (await t.as('admin')).auth;
    a = await practiceReady(t, admin, 'A81001');
  });
  afterAll(() => t?.close());

  const exportOf = (m: string, n: string) =>
    ndjson([
      patient('w', m, { identifier: [m, n].map((value) => ({ system: NHS, value })) }),
      condition('w-c', 'w'),
      objection('w-o', 'w', '9Nu4', '2020-01-01T10:00:00Z'),
      {
        resourceType: 'Observation',
        id: 'w-w',
        subject: { reference: 'Patient/w', identifier: { system: NHS, value: n } },
        code: { coding: [{ system: READ, code: '9Nu5' }] },
        effectiveDateTime: '2021-01-01T10:00:00Z',
      },
    ]);

  // Failed before the extractor wrote a withdrawal for every number of its person (review-28 finding 7).
  it('through the extractor: the withdrawal applies to both numbers (m stayed before: finding 7)', async () => {
    const [m, n] = [nhsNumber(seed++), nhsNumber(seed++)];
    const dir = mkdtempSync(path.join(tmpdir(), 'review28-both-'));
    writeFileSync(path.join(dir, 'in'), exportOf(m, n));
    await runExtractor({
      practiceOds: 'A81001',
      input: path.join(dir, 'in'),
      output: path.join(dir, 'out'),
    });
    await upload(t, a, 'A81001', readFileSync(path.join(dir, 'out'), 'utf8')).expect(201);
    expect({ m: await activeObjection(t, m, 'type2'), n: await activeObjection(t, n, 'type2') }).toEqual({
      m: false,
      n: false,
    });
  });

  it('raw: Type 2 registered by reference, withdrawn by reference and the second number', async () => {
    const [m, n] = [nhsNumber(seed++), nhsNumber(seed++)];
    const res = await upload(t, a, 'A81001', exportOf(m, n)).expect(201);
    // Today: rejected [{ line: 4, reason: 'subject: a withdrawal naming two patients (not applied)' }],
    // m and n Type 2 objectors. With the identifier m (the stored number) it applies to both.
    expect({
      rejected: res.body.rejected,
      m: await activeObjection(t, m, 'type2'),
      n: await activeObjection(t, n, 'type2'),
    }).toEqual({ rejected: [], m: false, n: false });
  });
});
