import { createTestApp, TestApp } from '@custodian/testing';
import { condition, ndjson, nhsNumber, patient } from './support/fhir';
import { practiceReady, upload } from './support/practice';

/**
 * Review 31, finding 4 (SPEC §2: a bad line is rejected with its line number and reason, the rest of
 * the extract is stored). A Patient line whose `id` holds a NUL character is refused as a line
 * (`Patient.id missing or invalid`), but `identityRows` (staging-block.ts) still stages its NHS numbers
 * under that id for objections (`N` rows: any string id of up to 64 characters), and PostgreSQL's
 * COPY cannot take a NUL byte: the whole upload fails with a 500.
 */
describe('review31: a Patient id with a NUL character', () => {
  let t: TestApp;
  let a: { Authorization: string };
  beforeAll(async () => {
    t = await createTestApp();
    const admin = (await t.as('admin')).auth;
    a = await practiceReady(t, admin, 'A81001');
  });
  afterAll(() => t?.close());

  it('is refused as a line; the rest of the extract is stored', async () => {
    const res = await upload(
      t,
      a,
      'A81001',
      ndjson([
        patient('ok', nhsNumber(31_400)),
        condition('ok-c', 'ok'),
        patient('bad\u0000id', nhsNumber(31_401)),
      ]),
    );
    expect({
      status: res.status,
      rejected: res.body?.rejected?.map((r: { line: number }) => r.line),
    }).toEqual({
      status: 201,
      rejected: [3],
    });
  });
});
