import { parseRequestForm } from './request-form';

/** The request form's own checks (the API has the last word; these spare a round trip). */
describe('the request form', () => {
  const catalog = {
    datasets: [{ id: 'gp', title: 'GP', fields: [{ name: 'sex' }, { name: 'code' }] }],
    dimensions: [{ name: 'sex' }, { name: 'year' }],
  } as never;
  const body = (over: Record<string, string | string[]>) => ({
    title: 'Statins and stroke',
    purpose: 'A purpose of some length',
    publicBenefit: 'A public benefit of some length',
    legalBasis: 'none',
    requestedTier: 'anonymised',
    fields_gp: ['sex', 'code'],
    durationMonths: '12',
    ...over,
  });

  it('keeps dimensions ticked beside a record-level tier: the counts the panel may grant instead (SPEC §4)', () => {
    // A walk-through (2026-12-06) found them dropped silently; they are now sent, as SPEC §4's
    // example body sends them with a pseudonymised tier.
    const record = parseRequestForm(body({ dimensions: ['sex'] }), catalog);
    expect(record.errors.byField.dimensions).toBeUndefined();
    expect(record.dto.aggregation).toEqual({ dimensions: ['sex'] });
    expect(parseRequestForm(body({}), catalog).dto.aggregation).toBeNull();
    const aggregate = parseRequestForm(body({ requestedTier: 'aggregate', dimensions: ['sex'] }), catalog);
    expect(aggregate.errors.byField.dimensions).toBeUndefined();
    expect(aggregate.dto.aggregation).toEqual({ dimensions: ['sex'] });
    expect(parseRequestForm(body({ requestedTier: 'aggregate' }), catalog).errors.byField.dimensions).toMatch(
      /at least one dimension/,
    );
  });
});
