import { createTestApp, TestApp } from '@custodian/testing';
import { condition, NHS, ndjson, nhsNumber, patient } from './support/fhir';
import { practiceReady, upload } from './support/practice';

/**
 * Review 30, finding 4 (performance, abuse). The intake pairs every two numbers of a Patient record
 * (`recordAliasesSql` over `idn`, grouped by id: array_agg, unnest × unnest) and keeps every pair for
 * good. Nothing bounds how many NHS numbers a record may carry: one Patient line of N identifiers (or
 * N lines of one id) writes N·(N−1) rows into `nhs_number_aliases`, inside the extract's transaction
 * and under the register's shared lock (API objection calls wait for it). A 1 MiB line carries ~16,000
 * numbers: 256M rows from one line. Here 1,500 numbers (a 90 KB line): 2.2M rows (36 s).
 * Fixed: a record of more than 10 numbers pairs each with its lowest only (2,998 rows, 0.6 s).
 */
describe('review30: a record of many NHS numbers', () => {
  let t: TestApp;
  let a: { Authorization: string };
  beforeAll(async () => {
    t = await createTestApp();
    const admin = (await t.as('admin')).auth;
    a = await practiceReady(t, admin, 'A81001');
  });
  afterAll(() => t?.close());

  it('one Patient line of 1,500 NHS numbers: alias rows grow with the square, and the upload with them', async () => {
    const numbers = Array.from({ length: 1_500 }, (_, i) => nhsNumber(3_040_000 + i));
    const line = patient('many', numbers[0]!, {
      identifier: numbers.map((value) => ({ system: NHS, value })),
    });
    const started = Date.now();
    await upload(t, a, 'A81001', ndjson([line, condition('many-c', 'many')])).expect(201);
    const seconds = (Date.now() - started) / 1000;
    const { rows } = await t.sql.query(`SELECT count(*)::int AS n FROM nhs_number_aliases`);
    console.log(`aliases: ${rows[0].n}, upload: ${seconds.toFixed(1)} s`);
    // Fails: 2,248,500 rows (N·(N−1)); linear in the numbers would be ~2·N (each to the stored one).
    expect(rows[0].n).toBeLessThanOrEqual(2 * numbers.length);
  }, 600_000);
});
