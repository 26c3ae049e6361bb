import { createTestApp, TestApp } from '@custodian/testing';
import { ndjson, nhsNumber, objection, patient } from './support/fhir';
import { practiceReady, upload } from './support/practice';

/**
 * Review 30, finding 5 (performance). 819ba0b's refusal of a withdrawal whose numbers are not all on
 * one Patient line (`two`, intake/subjects.ts) now runs for every withdrawal, and picks the id's lines
 * with `CASE WHEN w.subject IS NOT NULL THEN a.nhs_number IN (…) ELSE a.nhs_number = w.nhs_number END`:
 * a CASE no index on `idn` serves, so each withdrawal scans the whole of `idn` (one row per Patient
 * line): withdrawals × patients. Before, the check ran only for withdrawals by reference, through
 * `idn (id)`. Scale: REVIEW30_PATIENTS (default 4,000) Patients, one withdrawal by reference for every
 * 20th. Measured on the review machine (2 shared cores): 31.3 s at HEAD, 0.8 s with the parent
 * commit's subjects.ts (819ba0b^); 20,000 Patients / 1,000 withdrawals at HEAD did not finish in 15 min.
 * Fixed set-wise (`wwide`): 0.7 s, and 4.5 s for 20,000 / 1,000. The bound (10 s) is 14 times that:
 * a guard against the quadratic statement, not a speed measure.
 */
describe('review30: the withdrawal check over a large extract', () => {
  let t: TestApp;
  let a: { Authorization: string };
  beforeAll(async () => {
    t = await createTestApp();
    const admin = (await t.as('admin')).auth;
    a = await practiceReady(t, admin, 'A81001');
  });
  afterAll(() => t?.close());

  it('withdrawals × Patient lines', async () => {
    const patients = Number(process.env.REVIEW30_PATIENTS ?? 4_000);
    const lines: unknown[] = [];
    for (let i = 0; i < patients; i++) {
      lines.push(patient(`p${i}`, nhsNumber(4_000_000 + i)));
      if (i % 20 === 0) lines.push(objection(`w${i}`, `p${i}`, '9Nu5', '2021-03-04T10:00:00Z'));
    }
    const body = ndjson(lines);
    const started = Date.now();
    await upload(t, a, 'A81001', body).expect(201);
    const first = (Date.now() - started) / 1000;
    console.log(
      `upload of ${patients} patients, ${Math.ceil(patients / 20)} withdrawals: ${first.toFixed(1)} s`,
    );
    expect(first).toBeLessThan(Number(process.env.REVIEW30_BOUND_S ?? 10));
  }, 900_000);
});
