import { createTestApp, TestApp } from '@custodian/testing';
import {
  condition,
  medication,
  ndjson,
  nhsNumber,
  observation,
  patient,
  procedure,
  SCT,
} from './support/fhir';
import { practiceReady, upload } from './support/practice';

/**
 * The extract report says which FHIR elements the centre did not use (issue #23): elements the
 * specification lets through but that are not stored, counted by element path, beside the fields
 * it removed (`dropped.byField`).
 */
describe('extract report: elements ignored', () => {
  let t: TestApp;
  let auth: { Authorization: string };
  beforeAll(async () => {
    t = await createTestApp();
    auth = await practiceReady(t, (await t.as('admin')).auth, 'A81001');
  });
  afterAll(() => t?.close());

  it('counts per element path what was stored without being used', async () => {
    const n = nhsNumber(424_242);
    const res = await upload(
      t,
      auth,
      'A81001',
      ndjson([
        patient('p1', n, {
          address: [{ postalCode: 'LS1 4AP' }, { postalCode: 'LS2 9JT' }],
        }),
        condition('c1', 'p1', { recordedDate: '2012-05-03' }),
        procedure('pr1', 'p1', { status: 'completed' }),
        medication('m1', 'p1', { status: 'active' }),
        observation('o1', 'p1', {
          status: 'final',
          code: {
            coding: [
              { system: SCT, code: '27113001' },
              { system: 'http://read.info/readv2', code: '22A..' },
            ],
          },
        }),
      ]),
    ).expect(201);
    expect(res.body.resources).toBe(4);
    expect(res.body.ignored).toEqual({
      'Condition.recordedDate': 1,
      'MedicationStatement.status': 1,
      'Observation.code.coding': 1,
      'Observation.status': 1,
      'Patient.address': 1,
      'Patient.generalPractitioner': 1,
      'Procedure.status': 1,
    });
    // What was removed is counted apart, and the stored report says the same.
    expect(res.body.dropped.byField).toEqual({});
    const stored = await t.http.get(`/api/extracts/${res.body.extractId}`).set(auth).expect(200);
    expect(stored.body.ignored).toEqual(res.body.ignored);
  });
});
