import fc from 'fast-check';
import { CatalogAnswer, columnMapping, releaseColumns } from './columns';

const catalog: CatalogAnswer = {
  datasets: [
    {
      id: 'gp',
      title: 'GP records',
      description: '',
      fields: ['nhs_number', 'date_of_birth', 'postcode', 'sex', 'code'].map((name) => ({
        name,
        classification: 'clinical',
        description: '',
      })),
    },
  ],
  dimensions: [],
};

describe('release columns shown on the request form', () => {
  it('names identifier columns by tier (SPEC §5 step 6)', () => {
    const fields = ['nhs_number', 'date_of_birth', 'postcode', 'sex'];
    const cols = (tier: string) =>
      releaseColumns(catalog, tier, [{ dataset: 'gp', fields }])[0].columns.map((c) => c.column);
    expect(cols('identifiable')).toEqual(['nhs_number', 'date_of_birth', 'postcode', 'sex']);
    expect(cols('pseudonymised')).toEqual(['pseudo_id', 'birth_year_month', 'postcode_district', 'sex']);
    expect(cols('anonymised')).toEqual(['person_token', 'age_band', 'area', 'sex']);
  });

  it('aggregate releases are the dimensions then patients', () => {
    const [file] = releaseColumns(
      catalog,
      'aggregate',
      [{ dataset: 'gp', fields: ['sex'] }],
      ['sex', 'age_band'],
    );
    expect(file.file).toBe('aggregate.csv.gz');
    expect(file.columns.map((c) => c.column)).toEqual(['sex', 'age_band', 'patients']);
  });

  it('no tier below identifiable ever shows an NHS number, date of birth or full postcode column', () => {
    const names = catalog.datasets[0].fields.map((f) => f.name);
    fc.assert(
      fc.property(
        fc.subarray(names, { minLength: 1 }),
        fc.constantFrom('pseudonymised', 'anonymised', 'aggregate'),
        (fields, tier) => {
          const columns = releaseColumns(catalog, tier, [{ dataset: 'gp', fields }], ['sex']).flatMap((f) =>
            f.columns.map((c) => c.column),
          );
          return !columns.some((c) => ['nhs_number', 'date_of_birth', 'postcode'].includes(c));
        },
      ),
    );
  });

  it('uses the catalogue’s own columnsByTier when it lists them', () => {
    const withColumns: CatalogAnswer = {
      ...catalog,
      datasets: [{ ...catalog.datasets[0], columnsByTier: { pseudonymised: ['p', 'b', 'd', 's', 'c'] } }],
    };
    expect(columnMapping(withColumns).gp.pseudonymised.nhs_number).toBe('p');
  });
});
