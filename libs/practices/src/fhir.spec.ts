import fc from 'fast-check';
import { checkDate, parseExtractLine } from './fhir';
import { stripToSpec, UNREADABLE_FIELD } from './fhir-spec';

const TODAY = '2026-01-15';
const PATIENT_KEYS = [
  'resourceType',
  'id',
  'identifier',
  'birthDate',
  'gender',
  'address',
  'extension',
  'generalPractitioner',
];

describe('parseExtractLine', () => {
  it('never throws on arbitrary text or JSON, and classifies every line', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
          fc
            .record({
              resourceType: fc.constantFrom(
                'Patient',
                'Condition',
                'Procedure',
                'MedicationStatement',
                'Observation',
                'Encounter',
              ),
              id: fc.anything(),
              subject: fc.anything(),
              code: fc.anything(),
              identifier: fc.anything(),
              birthDate: fc.anything(),
              effectiveDateTime: fc.anything(),
              valueQuantity: fc.anything(),
            })
            .map((o) => JSON.stringify(o)),
        ),
        (line) => {
          const r = parseExtractLine(line, 'A81001', TODAY);
          expect([
            'blank',
            'unsupported',
            'rejected',
            'unresolved',
            'patient',
            'event',
            'objection',
          ]).toContain(r.kind);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('takes only the four FHIR genders, not names an object inherits (__proto__, constructor…)', () => {
    const patient = (gender: string) =>
      JSON.stringify({
        resourceType: 'Patient',
        id: 'p1',
        identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9434765919' }],
        birthDate: '1970-03-04',
        gender,
      });
    expect(parseExtractLine(patient('female'), 'A81001', TODAY)).toMatchObject({ kind: 'patient' });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'Male', ''),
          fc.string(),
        ),
        (gender) => {
          fc.pre(!['male', 'female', 'other', 'unknown'].includes(gender));
          expect(parseExtractLine(patient(gender), 'A81001', TODAY)).toMatchObject({ kind: 'rejected' });
        },
      ),
    );
  });

  it('keeps only the fields of the specification on a Patient, whatever else it carries', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), fc.jsonValue()), (extra) => {
        const { resource, dropped } = stripToSpec({ ...extra, resourceType: 'Patient' });
        expect(Object.keys(resource!).every((k) => PATIENT_KEYS.includes(k))).toBe(true);
        const removed = Object.keys(extra).filter((k) => !PATIENT_KEYS.includes(k));
        // Named when it reads as an element name; any other key counted under one name.
        const nameable = (k: string) => /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(k);
        for (const k of removed.filter(nameable)) expect(dropped[k]).toBe(1);
        expect(dropped[UNREADABLE_FIELD] ?? 0).toBe(removed.filter((k) => !nameable(k)).length);
      }),
    );
  });
});

describe('the fields a line drops', () => {
  it('count only for a line that is stored: a refused line adds none (three names counted for two Patients stored)', () => {
    const dropped = Object.create(null) as Record<string, number>;
    const patient = (nhs: string) =>
      JSON.stringify({
        resourceType: 'Patient',
        id: `p${nhs}`,
        identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: nhs }],
        birthDate: '1970-01-01',
        name: [{ family: 'X' }],
        telecom: [{ value: '0113' }],
      });
    expect(parseExtractLine(patient('9434765919'), 'A81001', '2026-01-15', dropped).kind).toBe('patient');
    expect(parseExtractLine(patient('1234567890'), 'A81001', '2026-01-15', dropped).kind).toBe('rejected');
    expect({ ...dropped }).toMatchObject({ name: 1, telecom: 1 });
  });
});

describe('checkDate', () => {
  it.each([
    ['2020-02-29', '2020-02-29'],
    ['2000-02-29', '2000-02-29'],
    ['2020-02-29T23:59:59+01:00', '2020-02-29'],
    ['2015-06-01T23:59:60Z', '2015-06-01'],
    ['2015-06-01T10:00:00.123-14:00', '2015-06-01'],
    ['1895-01-01', '1895-01-01'],
    [TODAY, TODAY],
  ])('accepts %s', (v, d) => expect(checkDate(v, TODAY)).toEqual({ date: d }));

  it('accepts exactly the calendar dates in range (as the Date calendar has them)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1890, max: 2030 }),
        fc.integer({ min: 0, max: 13 }),
        fc.integer({ min: 0, max: 32 }),
        (y, m, d) => {
          const text = `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
          const dt = new Date(Date.UTC(y, m - 1, d));
          const real = dt.getUTCFullYear() === y && dt.getUTCMonth() === m - 1 && dt.getUTCDate() === d;
          const inRange = text >= '1895-01-01' && text <= TODAY;
          expect(checkDate(text, TODAY)).toEqual(
            !real
              ? { error: 'invalid date' }
              : inRange
                ? { date: text }
                : { error: 'date before 1895-01-01 or in the future' },
          );
        },
      ),
      { numRuns: 2000 },
    );
  });

  it.each([
    '2019-02-29',
    '1900-02-29',
    '2021-04-31',
    '2020-13-01',
    '2020-1-1',
    '2020',
    '2020-01',
    'x',
    '1894-12-31',
    '2026-01-16',
    // Times that are not times (an outsider's probe, 2026-12-06: each was stored as the day).
    '2015-06-01T25:00:00Z',
    '2015-06-01T23:60:00Z',
    '2015-06-01T10:00:61Z',
    '2015-06-01T10:00:00+25:00',
    '2015-06-01T10:00:00+14:30',
    '2015-06-01T10:00:00+05:60',
    // Not FHIR R4 dateTimes: a time needs its seconds and an offset.
    '2015-06-01T10:00Z',
    '2015-06-01T10:00:00',
    '2015-06-01T10:00',
  ])('refuses %s', (v) => expect('error' in checkDate(v, TODAY)).toBe(true));
});

describe('stripToSpec keeps the elements FHIR R4 requires (SPEC §2)', () => {
  it.each([
    ['Observation', 'final'],
    ['Procedure', 'completed'],
    ['MedicationStatement', 'active'],
    ['Observation', 'entered-in-error'],
  ])('%s keeps status %s', (resourceType, status) => {
    const { resource, dropped } = stripToSpec({
      resourceType,
      id: 'x1',
      status,
      subject: { reference: 'Patient/p1', display: 'A Name' },
      note: [{ text: 'free text' }],
    });
    expect(resource!.status).toBe(status);
    expect(dropped.status).toBeUndefined();
    expect(dropped.note).toBe(1);
  });

  it('a status that is not a code (free text, an object) is dropped and counted', () => {
    for (const status of ['Seen by Dr Smith', { text: 'x' }, 'FINAL', '']) {
      const { resource, dropped } = stripToSpec({ resourceType: 'Observation', id: 'x1', status });
      expect(resource!.status).toBeUndefined();
      expect(dropped.status).toBe(1);
    }
  });
});
