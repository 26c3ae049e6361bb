import {
  AREAS,
  CONDITIONS,
  ETHNIC_CATEGORIES,
  GIVEN_FEMALE,
  GIVEN_MALE,
  MEDICATIONS,
  OBSERVATIONS,
  PROCEDURES,
  SERVICES_ADULT,
  SERVICES_CHILD,
  STREETS,
  STREET_KINDS,
  SURNAMES,
} from './reference-data';

describe('reference data', () => {
  // Lines are built by string interpolation: nothing interpolated may need JSON or CSV escaping.
  it('holds no character that would need escaping in JSON or CSV', () => {
    const strings = [
      ...[...CONDITIONS, ...PROCEDURES, ...MEDICATIONS, ...OBSERVATIONS].flatMap((r) => [
        r.code,
        r.display,
        r.read ?? '',
      ]),
      ...ETHNIC_CATEGORIES.map((e) => e.display),
      ...AREAS.flatMap((a) => [a.area, a.town, a.laCode, a.provider, a.phone]),
      ...GIVEN_FEMALE,
      ...GIVEN_MALE,
      ...SURNAMES,
      ...STREETS,
      ...STREET_KINDS,
      ...[...SERVICES_ADULT, ...SERVICES_CHILD].map((s) => s.name),
    ];
    for (const s of strings) expect(s).not.toMatch(/["\\,\n\r\t]/);
  });

  it('uses NHS data dictionary ethnic category codes', () => {
    expect(ETHNIC_CATEGORIES.map((e) => e.code).join('')).toBe('ABCDEFGHJKLMNPRSZ');
  });
});
