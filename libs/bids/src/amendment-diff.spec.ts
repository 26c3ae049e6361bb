import fc from 'fast-check';
import type { Tier } from '@custodian/catalog';
import { amendmentDiff, type AmendableContent } from './amendment-diff';

const V1: AmendableContent = {
  datasets: [
    { dataset: 'gp', fields: ['nhs_number', 'date_of_birth', 'code', 'event_date'] },
    { dataset: 'hes', fields: ['nhs_number', 'admission_date'] },
  ],
  cohort: { practices: ['A81001', 'A81002'], eventsFrom: '2010-01-01', ageMin: 18, ageMax: 90 },
  aggregation: null,
  durationMonths: 12,
  recipients: ['r1', 'r2'],
};
const with_ = (o: Partial<AmendableContent>): AmendableContent => ({ ...V1, ...o });

describe('amendmentDiff (#25): narrowing or widening, field by field', () => {
  it('no change: no entries and no scope', () => {
    expect(amendmentDiff(V1, structuredClone(V1), 'pseudonymised')).toEqual({ entries: [], scope: null });
  });

  it('fewer fields, a dataset dropped, a smaller cohort, a shorter term, fewer recipients: narrowing', () => {
    const d = amendmentDiff(
      V1,
      with_({
        datasets: [{ dataset: 'gp', fields: ['nhs_number', 'code'] }],
        cohort: {
          practices: ['A81001'],
          eventsFrom: '2011-01-01',
          eventsTo: '2014-12-31',
          ageMin: 18,
          ageMax: 80,
        },
        durationMonths: 6,
        recipients: ['r1'],
      }),
      'pseudonymised',
    );
    expect(d.scope).toBe('narrowing');
    expect(d.entries.map((e) => e.field)).toEqual([
      'datasets.gp',
      'datasets.hes',
      'cohort.practices',
      'cohort.eventsFrom',
      'cohort.eventsTo',
      'cohort.ageMax',
      'durationMonths',
      'recipients',
    ]);
    expect(d.entries[1]).toEqual({
      field: 'datasets.hes',
      inForce: 'nhs_number, admission_date',
      proposed: null,
      effect: 'narrows',
    });
  });

  it.each([
    ['a new field', with_({ datasets: [{ dataset: 'gp', fields: ['nhs_number', 'postcode'] }] })],
    [
      'a new dataset',
      with_({ datasets: [...V1.datasets, { dataset: 'social_care', fields: ['nhs_number'] }] }),
    ],
    ['a cohort key removed', with_({ cohort: { ...V1.cohort, practices: undefined } })],
    ['another practice', with_({ cohort: { ...V1.cohort, practices: ['A81001', 'B82001'] } })],
    ['an earlier start', with_({ cohort: { ...V1.cohort, eventsFrom: '2009-12-31' } })],
    ['a lower minimum age', with_({ cohort: { ...V1.cohort, ageMin: 17 } })],
    ['a higher maximum age', with_({ cohort: { ...V1.cohort, ageMax: 91 } })],
    ['an empty list (ambiguous)', with_({ cohort: { ...V1.cohort, practices: [] } })],
    ['a longer term', with_({ durationMonths: 24 })],
    ['another recipient', with_({ recipients: ['r1', 'r3'] })],
  ])('%s: widening', (_what, proposed) => {
    expect(amendmentDiff(V1, proposed, 'pseudonymised').scope).toBe('widening');
  });

  it('at the anonymised and aggregate tiers any change of data widens; a shorter term still narrows', () => {
    const fewer = with_({ datasets: [{ dataset: 'gp', fields: ['code'] }] });
    const smaller = with_({ cohort: { ...V1.cohort, ageMin: 30 } });
    for (const tier of ['anonymised', 'aggregate'] as const) {
      expect(amendmentDiff(V1, fewer, tier).scope).toBe('widening');
      expect(amendmentDiff(V1, smaller, tier).scope).toBe('widening');
      expect(amendmentDiff(V1, with_({ durationMonths: 3 }), tier).scope).toBe('narrowing');
    }
    const agg = with_({ aggregation: { dimensions: ['sex', 'age_band'] } });
    expect(
      amendmentDiff(agg, with_({ aggregation: { dimensions: ['sex'] } }), 'aggregate').entries[0],
    ).toMatchObject({ field: 'aggregation.dimensions', effect: 'widens' });
  });

  // ---- properties ---------------------------------------------------------------------------

  const FIELDS = ['nhs_number', 'date_of_birth', 'postcode', 'sex', 'code', 'event_date', 'value'];
  const PRACTICES = ['A81001', 'A81002', 'A81003', 'B82001'];
  const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
  const content: fc.Arbitrary<AmendableContent> = fc.record({
    datasets: fc
      .subarray(['gp', 'hes', 'social_care'], { minLength: 1 })
      .chain((ds) =>
        fc.tuple(
          ...ds.map((d) => fc.subarray(FIELDS, { minLength: 1 }).map((fields) => ({ dataset: d, fields }))),
        ),
      ),
    cohort: fc.record({
      practices: opt(fc.subarray(PRACTICES, { minLength: 1 })),
      eventsFrom: opt(fc.constantFrom('2009-01-01', '2010-01-01', '2012-06-30')),
      eventsTo: opt(fc.constantFrom('2013-01-01', '2014-12-31')),
      ageMin: opt(fc.integer({ min: 0, max: 40 })),
      ageMax: opt(fc.integer({ min: 41, max: 120 })),
    }),
    aggregation: fc.constant(null),
    durationMonths: fc.integer({ min: 1, max: 36 }),
    recipients: fc.subarray(['r1', 'r2', 'r3'], { minLength: 1 }),
  });
  const tiers = fc.constantFrom<Tier>('identifiable', 'pseudonymised', 'anonymised', 'aggregate');

  it('a version compared with itself has no change, at every tier', () => {
    fc.assert(
      fc.property(content, tiers, (c, tier) => amendmentDiff(c, structuredClone(c), tier).scope === null),
    );
  });

  it('a narrowing change reversed is a widening one (nothing both narrows and widens)', () => {
    fc.assert(
      fc.property(content, content, tiers, (a, b, tier) => {
        const there = amendmentDiff(a, b, tier).scope;
        if (there === 'narrowing') expect(amendmentDiff(b, a, tier).scope).toBe('widening');
      }),
    );
  });

  it('narrowing is transitive: two narrowings in a row narrow', () => {
    fc.assert(
      fc.property(content, content, content, tiers, (a, b, c, tier) => {
        const ab = amendmentDiff(a, b, tier).scope;
        const bc = amendmentDiff(b, c, tier).scope;
        if (ab !== 'widening' && bc !== 'widening' && amendmentDiff(a, c, tier).scope !== null)
          expect(amendmentDiff(a, c, tier).scope).toBe('narrowing');
      }),
    );
  });

  it('whatever else changes, a field or dataset not in force makes it widening', () => {
    fc.assert(
      fc.property(content, content, tiers, (a, b, tier) => {
        const added = b.datasets.some((d) => {
          const f = a.datasets.find((x) => x.dataset === d.dataset)?.fields;
          return !f || d.fields.some((x) => !f.includes(x));
        });
        if (added) expect(amendmentDiff(a, b, tier).scope).toBe('widening');
      }),
    );
  });

  it('a subset of fields with a cohort as tight on every key narrows at the record-level tiers with a person key', () => {
    fc.assert(
      fc.property(
        content,
        fc.constantFrom<Tier>('identifiable', 'pseudonymised'),
        fc.integer(),
        (a, tier, seed) => {
          const b: AmendableContent = {
            ...a,
            datasets: a.datasets.map((d, i) => ({ ...d, fields: d.fields.slice(0, 1 + ((seed + i) & 1)) })),
            cohort: { ...a.cohort, ageMin: (a.cohort.ageMin ?? 0) + 1 },
            durationMonths: Math.max(1, a.durationMonths - 1),
          };
          expect(amendmentDiff(a, b, tier).scope).toBe('narrowing');
        },
      ),
    );
  });
});
