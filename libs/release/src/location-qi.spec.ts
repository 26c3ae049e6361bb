import { chooseNode, combineNodes, FileNodeStats, nodeHeight } from './k-anonymity';
import { AREAS } from '@custodian/synth';
import { laRegion, locationQis, providerRegion, PROVIDER_REGION } from './location-qi';
import { POSTCODE_AREA_REGION } from './reference-data';

describe('location quasi-identifiers (issue #19)', () => {
  const row = (dataset: string, ll: number, suppressed: number, age = 0): FileNodeStats => ({
    age,
    area: 0,
    ethnicity: 0,
    dataset,
    ll,
    suppressed,
  });

  it('each location file takes its own level: nodes are the person node × every location level of each file', () => {
    const rows = [
      row('gp', 0, 0),
      ...[21, 6, 0].map((n, ll) => row('hes', ll, n)),
      ...[10, 0, 0].map((n, ll) => row('social_care', ll, n)),
    ];
    const nodes = combineNodes(rows, ['hes', 'social_care']);
    expect(nodes).toHaveLength(9);
    expect(nodes.find((n) => n.location!.hes === 1 && n.location!.social_care === 0)).toMatchObject({
      suppressed: 16,
      suppressedByFile: { gp: 0, hes: 6, social_care: 10 },
    });
    // 200 HES persons (cap 10), 20 social-care persons (cap 1): provider and local authority to
    // their regions, the least generalised node within the cap of every file.
    const choice = chooseNode(nodes, { gp: 200, hes: 200, social_care: 20 }, 0.05, {
      hes: 'provider_code',
      social_care: 'la_code',
    });
    expect(choice).toMatchObject({
      location: { hes: 1, social_care: 1 },
      suppressed: 6,
      levels: { age: 'five_year', provider_code: 'region', la_code: 'region' },
    });
    expect(nodeHeight(choice!)).toBe(2);
  });

  it('generalising a location costs a rung like any other ladder; ties go to fewer suppressed, then the person ladders finest', () => {
    // Age up one rung (no location generalised) against the provider up one rung: same height.
    const rows = [
      row('hes', 0, 30),
      row('hes', 1, 4),
      row('hes', 2, 0),
      ...[8, 8, 0].map((n, ll) => row('hes', ll, n, 1)),
    ];
    const choice = chooseNode(combineNodes(rows, ['hes']), { hes: 200 }, 0.05, { hes: 'provider_code' });
    expect(choice).toMatchObject({ age: 0, location: { hes: 1 }, suppressed: 4 });
    // A release without location files has no location levels at all.
    const plain = chooseNode(combineNodes([row('gp', 0, 0)], []), { gp: 100 }, 0.05);
    expect(plain?.location).toBeUndefined();
    expect(Object.keys(plain!.levels)).toEqual(['age', 'area', 'ethnicity']);
  });

  it('a location file without persons suppresses nobody at level 0', () => {
    const nodes = combineNodes([row('gp', 0, 0)], ['hes']);
    expect(nodes).toEqual([
      expect.objectContaining({ location: { hes: 0 }, suppressedByFile: { gp: 0, hes: 0 } }),
    ]);
  });

  it('only the files that carry their location column have one', () => {
    expect(
      locationQis([
        { dataset: 'gp', fields: ['code'] },
        { dataset: 'hes', fields: ['admission_date'] },
        { dataset: 'social_care', fields: ['la_code'] },
      ]),
    ).toEqual({ social_care: 'la_code' });
  });

  it("regions: a provider's and a local authority's are those of the area they serve (the synthetic data's reference)", () => {
    for (const a of AREAS) {
      expect(providerRegion(a.provider)).toBe(POSTCODE_AREA_REGION[a.area]);
      expect(laRegion(a.laCode)).toBe(POSTCODE_AREA_REGION[a.area]);
    }
    expect(providerRegion('RR801')).toBe('Yorkshire and The Humber'); // a site takes its trust's region
    expect(providerRegion('NT4')).toBe('unknown');
    expect(providerRegion(null)).toBe('unknown');
    expect(laRegion('E09000033')).toBe('London');
    expect(laRegion('W06000015')).toBe('Wales');
    expect(laRegion('E06000001')).toBe('unknown');
    // Every region named is one of the postcode ladder's.
    const regions = new Set(Object.values(POSTCODE_AREA_REGION));
    for (const r of Object.values(PROVIDER_REGION)) expect(regions.has(r)).toBe(true);
  });
});
