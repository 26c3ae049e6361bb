import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runExtractor } from '@custodian/practices';
import { createTestApp, TestApp } from '@custodian/testing';
import { condition, ndjson, nhsNumber, objection, patient } from './support/fhir';
import { practiceReady, upload } from './support/practice';

/**
 * Review 28, finding 1 (critical; SPEC §2: objections fail closed, "never rejected so that the
 * patient is released"; the centre re-checks, never weaker than the extractor; §5 step 2). The
 * intake refuses a line over 1 MiB unread (`MAX_LINE_BYTES`); the extractor reads lines up to
 * 16 MiB (`LineSplitter(16 * 1024 * 1024)`). A Patient with a photo (`Patient.photo[].data`, base64)
 * is easily over 1 MiB. Its Type 1 objection by reference is then refused as naming "no such
 * Patient", the extract is accepted (201), nothing reaches the register, and what practice B holds
 * of the patient stays and is released. The extractor, on the same export, writes the Type 1 marker
 * with the NHS number: the centre deletes B's data. A too-long line carrying an objection code is
 * already refused as unresolved (422); a too-long Patient line named by an objection is not.
 */
describe('review28: a Type 1 objection on a Patient line over 1 MiB', () => {
  let t: TestApp;
  let a: { Authorization: string };
  let b: { Authorization: string };
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
                coalesce((SELECT active FROM objection_register WHERE nhs_number = $1 AND type = 'type1'), false) AS type1`,
        [n],
      )
    ).rows[0] as { held: boolean; type1: boolean };
  const exportOf = (n: string) =>
    ndjson([
      patient('a1', n, { photo: [{ contentType: 'image/jpeg', data: 'A'.repeat(1_200_000) }] }),
      objection('a1-o', 'a1', '9Nu0', '2020-01-01T10:00:00Z'),
    ]);

  it('through the extractor (control): the marker deletes what B holds', async () => {
    const n = nhsNumber(28_996);
    await upload(t, b, 'B82002', ndjson([patient('b1', n, {}, 'B82002'), condition('b1-c', 'b1')])).expect(
      201,
    );
    const dir = mkdtempSync(path.join(tmpdir(), 'review28-long-'));
    writeFileSync(path.join(dir, 'in'), exportOf(n));
    await runExtractor({ practiceOds: 'A81001', input: path.join(dir, 'in'), output: path.join(dir, 'out') });
    await upload(t, a, 'A81001', readFileSync(path.join(dir, 'out'), 'utf8')).expect(201);
    expect(await state(n)).toEqual({ held: false, type1: true });
  });

  it('raw: refused whole (422), or applied — never accepted with the objection lost', async () => {
    const n = nhsNumber(28_997);
    await upload(t, b, 'B82002', ndjson([patient('b1', n, {}, 'B82002'), condition('b1-c', 'b1')])).expect(
      201,
    );
    const res = await upload(t, a, 'A81001', exportOf(n));
    const outcome = { status: res.status, ...(await state(n)) };
    // Today: { status: 201, held: true, type1: false } (line 1 "line longer than 1048576 bytes",
    // line 2 "subject: no such Patient in this extract or held for this practice").
    expect([
      { status: 422, held: true, type1: false },
      { status: 201, held: false, type1: true },
    ]).toContainEqual(outcome);
  });
});
