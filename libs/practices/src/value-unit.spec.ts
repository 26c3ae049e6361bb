import { parseExtractLine } from './fhir';
import { isUnitCode, stripToSpec } from './fhir-spec';

/**
 * An outsider's probe, 2026-12-07 (probe 14), finding 1: free text (a name, a phone number, a full
 * postcode) reached a pseudonymised release through an Observation's `valueQuantity.unit`. A unit is
 * a unit code (fhir-spec.ts `isUnitCode`); any other is dropped and counted, the value kept.
 */
const TODAY = '2026-01-15';
const obs = (unit: unknown) =>
  JSON.stringify({
    resourceType: 'Observation',
    id: 'u1',
    status: 'final',
    subject: { reference: 'Patient/p1' },
    code: { coding: [{ system: 'http://snomed.info/sct', code: '271649006' }] },
    effectiveDateTime: '2012-01-01',
    valueQuantity: { value: -1, unit },
  });

describe('valueQuantity.unit: a unit code, never free text (probe 14, finding 1)', () => {
  const real = [
    'mg',
    'mmol/L',
    'mmol/l',
    'kg/m2',
    'mm[Hg]',
    'mmHg',
    '%',
    '10*9/L',
    'x10^9/l',
    'mL/min/{1.73_m2}',
  ];
  const more = [
    'mL/min/1.73m2',
    'umol/L',
    'mmol/mol',
    'ng/mL',
    '[iU]/L',
    'mU/L',
    'fL',
    'pg',
    'g/dL',
    '/min',
    'Cel',
    'cm',
    'kPa',
    's',
  ];
  it.each([...real, ...more])('%s is a unit: stored with the value', (unit) => {
    expect(isUnitCode(unit)).toBe(true);
    const dropped = Object.create(null) as Record<string, number>;
    expect(parseExtractLine(obs(unit), 'A81001', TODAY, dropped)).toMatchObject({
      kind: 'event',
      value: `-1 ${unit}`,
    });
    expect(dropped['valueQuantity.unit']).toBeUndefined();
  });

  it.each([
    'mg Jane Doe LS6 2QB',
    '{Jane Doe HIV pos}',
    'Smith 07700900123',
    'mg/JaneDoe',
    'LS62QB',
    'Smith07700900123',
    '=HYPERLINK(1)',
    '{ratio}',
    'mg ',
    'cigs/day',
    'mmol/L mmol/L mmol/L',
    42,
  ])('%j is no unit: dropped and counted, the value kept', (unit) => {
    expect(isUnitCode(unit)).toBe(false);
    const dropped = Object.create(null) as Record<string, number>;
    expect(parseExtractLine(obs(unit), 'A81001', TODAY, dropped)).toMatchObject({
      kind: 'event',
      value: '-1',
    });
    expect(dropped['valueQuantity.unit']).toBe(1);
  });

  it('the extractor leaves it at the practice (stripToSpec drops it, counted)', () => {
    const { resource, dropped } = stripToSpec(
      JSON.parse(obs('Smith 07700900123')) as Record<string, unknown>,
    );
    expect(resource?.valueQuantity).toEqual({ value: -1 });
    expect(dropped['valueQuantity.unit']).toBe(1);
  });
});
