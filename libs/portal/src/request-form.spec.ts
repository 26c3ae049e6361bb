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

  it('refuses dimensions with a record-level tier rather than drop them silently (a walk-through, 2026-12-06)', () => {
    const { errors } = parseRequestForm(body({ dimensions: ['sex'] }), catalog);
    expect(errors.byField.dimensions).toMatch(/only for the aggregate tier/);
    expect(parseRequestForm(body({}), catalog).errors.byField.dimensions).toBeUndefined();
    const aggregate = parseRequestForm(body({ requestedTier: 'aggregate', dimensions: ['sex'] }), catalog);
    expect(aggregate.errors.byField.dimensions).toBeUndefined();
    expect(aggregate.dto.aggregation).toEqual({ dimensions: ['sex'] });
  });
});
