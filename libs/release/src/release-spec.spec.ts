import { specProblems } from './release-spec';
import type { ReleaseSpec } from './release.types';

const spec = (dataset: string): ReleaseSpec =>
  ({
    bidId: 'b',
    organisationId: 'o',
    agreementReference: 'A',
    tier: 'pseudonymised',
    legalBasis: 's251',
    datasets: [{ dataset, fields: ['nhs_number'] }],
    cohort: {},
    recipients: ['r'],
    requestedBy: 'u',
  }) as unknown as ReleaseSpec;

describe('specProblems', () => {
  it('accepts a catalogue dataset', () => {
    expect(specProblems(spec('gp'))).toEqual([]);
  });

  it.each(['__proto__', 'constructor', 'toString', 'nope'])(
    'calls %s an unknown dataset (own catalogue keys only, nothing inherited)',
    (name) => {
      expect(specProblems(spec(name)).map((p) => p.code)).toEqual(['RELEASE_DATASET_UNKNOWN']);
    },
  );
});
