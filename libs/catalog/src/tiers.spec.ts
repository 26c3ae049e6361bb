import fc from 'fast-check';
import { leastIdentifying, tierColumns, TIERS, tierRank } from './tiers';

describe('tiers', () => {
  it('ranks identifiable > pseudonymised > anonymised > aggregate', () => {
    expect(TIERS.map(tierRank)).toEqual([4, 3, 2, 1]);
    expect(leastIdentifying(['identifiable', 'anonymised', 'pseudonymised'])).toBe('anonymised');
    expect(leastIdentifying(['pseudonymised'])).toBe('pseudonymised');
  });

  it('leastIdentifying never returns a tier more identifying than any given tier', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...TIERS), { minLength: 1 }), (tiers) => {
        const least = leastIdentifying(tiers);
        return tiers.includes(least) && tiers.every((t) => tierRank(least) <= tierRank(t));
      }),
    );
  });

  it('names identifier columns by tier (SPEC §5 step 6)', () => {
    const fields = ['nhs_number', 'date_of_birth', 'postcode', 'sex', 'code'];
    expect(tierColumns('identifiable', fields)).toEqual(fields);
    expect(tierColumns('pseudonymised', fields)).toEqual([
      'pseudo_id',
      'birth_year_month',
      'postcode_district',
      'sex',
      'code',
    ]);
    expect(tierColumns('anonymised', fields)).toEqual(['person_token', 'age_band', 'area', 'sex', 'code']);
    expect(tierColumns('aggregate', fields)).toEqual([]);
  });

  it('below identifiable, no output column is named like a direct identifier or DOB/postcode', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('pseudonymised', 'anonymised', 'aggregate' as const),
        fc.subarray(['nhs_number', 'date_of_birth', 'postcode', 'sex', 'ethnicity', 'code', 'event_date']),
        (tier, fields) =>
          tierColumns(tier, fields).every((c) => !['nhs_number', 'date_of_birth', 'postcode'].includes(c)),
      ),
    );
  });
});
