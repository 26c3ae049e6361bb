import { parseExtractLine } from './fhir';
import { readObjection } from './objection-entry';

/**
 * A review of 2026-12-07's change (a refuted Condition, a Procedure not done, a medication not
 * taken, a cancelled Observation are records that something did not happen): an objection
 * *withdrawal* that says so withdrew the objection all the same, and released the patient — as a
 * withdrawal recorded in error or cancelled did before (SECURITY.md #146). It withdraws nothing, at
 * the intake and in the extractor (both read `readObjection`); a registration stands (fail closed).
 */
const TODAY = '2026-01-15';
const READ = 'http://read.info/readv2';
const base = {
  id: 'w1',
  subject: { reference: 'Patient/p1' },
  code: { coding: [{ system: READ, code: '9Nu1' }] },
};
const refuted = { coding: [{ code: 'refuted' }] };
const cases: [string, Record<string, unknown>][] = [
  [
    'Condition refuted',
    {
      ...base,
      resourceType: 'Condition',
      onsetDateTime: '2021-01-01T00:00:00Z',
      verificationStatus: refuted,
    },
  ],
  [
    'Procedure not-done',
    { ...base, resourceType: 'Procedure', status: 'not-done', performedDateTime: '2021-01-01T00:00:00Z' },
  ],
];

describe('an objection withdrawal that did not happen', () => {
  it.each(cases)('a withdrawal (%s) withdraws nothing, at the intake and in the extractor', (_name, r) => {
    expect(parseExtractLine(JSON.stringify(r), 'A81001', TODAY)).toMatchObject({ kind: 'rejected' });
    expect(readObjection(r, `${TODAY}T12:00:00Z`)).toMatchObject({ kind: 'rejected' });
  });

  it.each(cases)('a registration (%s) still registers (fail closed)', (_name, r) => {
    const reg = { ...r, code: { coding: [{ system: READ, code: '9Nu0' }] } };
    expect(parseExtractLine(JSON.stringify(reg), 'A81001', TODAY)).toMatchObject({
      kind: 'objection',
      entries: [{ type: 'type1', action: 'register' }],
    });
  });
});
