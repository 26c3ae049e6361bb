import fc from 'fast-check';
import { parseExtractLine } from './fhir';

/**
 * The centre refuses, line by line, a clinical resource without an element FHIR R4 requires or with
 * a value of the wrong R4 type in an element it reads (SPEC §2) — and never an objection entry for
 * any of it (fail closed: an objection is never refused so that the patient is released).
 */
const TODAY = '2026-01-15';
const SCT = 'http://snomed.info/sct';
const READ = 'http://read.info/readv2';
const parse = (r: Record<string, unknown>) => parseExtractLine(JSON.stringify(r), 'A81001', TODAY);

const subject = { reference: 'Patient/p1' };
const coded = { coding: [{ system: SCT, code: '27113001' }] };
const med = (o: Record<string, unknown> = {}) => ({
  resourceType: 'MedicationStatement',
  id: 'm1',
  status: 'active',
  subject,
  medicationCodeableConcept: { coding: [{ system: READ, code: 'bxd5.' }] },
  effectiveDateTime: '2014-01-01',
  ...o,
});
const obs = (o: Record<string, unknown> = {}) => ({
  resourceType: 'Observation',
  id: 'o1',
  status: 'final',
  subject,
  code: coded,
  effectiveDateTime: '2015-06-07',
  ...o,
});
const proc = (o: Record<string, unknown> = {}) => ({
  resourceType: 'Procedure',
  id: 'pr1',
  status: 'completed',
  subject,
  code: coded,
  performedDateTime: '2013-02-03T10:00:00Z',
  ...o,
});
const cond = (o: Record<string, unknown> = {}) => ({
  resourceType: 'Condition',
  id: 'c1',
  subject,
  code: coded,
  onsetDateTime: '2012-05-01',
  ...o,
});
const objection = (code: string, o: Record<string, unknown> = {}) => ({
  resourceType: 'Observation',
  id: 'x1',
  subject,
  code: { coding: [{ system: /^\d+$/.test(code) ? SCT : READ, code }] },
  effectiveDateTime: '2020-01-01T10:00:00Z',
  ...o,
});

describe('FHIR R4 required elements and types at the intake (SPEC §2)', () => {
  it.each([
    [
      'a MedicationStatement without status',
      med({ status: undefined }),
      'MedicationStatement.status: missing (FHIR R4 requires it)',
    ],
    [
      'a Procedure without status',
      proc({ status: undefined }),
      'Procedure.status: missing (FHIR R4 requires it)',
    ],
    [
      'an Observation without status',
      obs({ status: undefined }),
      'Observation.status: missing (FHIR R4 requires it)',
    ],
    [
      'a status outside its value set',
      proc({ status: 'done' }),
      'Procedure.status: not a code of its FHIR R4 value set',
    ],
    [
      'another type’s status',
      med({ status: 'final' }),
      'MedicationStatement.status: not a code of its FHIR R4 value set',
    ],
    // Free text is stripped before it is read (never stored): then the status is missing.
    [
      'a free-text status',
      obs({ status: 'Seen by Dr Smith' }),
      'Observation.status: missing (FHIR R4 requires it)',
    ],
    ['an Observation without code', obs({ code: undefined }), 'Observation.code: code missing'],
    [
      'a MedicationStatement without medication',
      med({ medicationCodeableConcept: undefined }),
      'MedicationStatement.medicationCodeableConcept: code missing',
    ],
    [
      'a medicationReference only',
      med({ medicationCodeableConcept: undefined, medicationReference: { reference: 'Medication/1' } }),
      'MedicationStatement.medicationCodeableConcept: code missing',
    ],
    [
      'a Condition without subject',
      cond({ subject: undefined }),
      'Condition.subject is not a Patient reference',
    ],
    [
      'a subject that is a Group',
      proc({ subject: { reference: 'Group/1' } }),
      'Procedure.subject is not a Patient reference',
    ],
    [
      'a dateTime without seconds',
      obs({ effectiveDateTime: '2015-06-07T10:00Z' }),
      'Observation.effectiveDateTime: invalid date',
    ],
    [
      'a dateTime without offset',
      proc({ performedDateTime: '2013-02-03T10:00:00' }),
      'Procedure.performedDateTime: invalid date',
    ],
    ['a date that is a number', cond({ onsetDateTime: 20120501 }), 'Condition.onsetDateTime: invalid date'],
  ])('%s is refused with its reason', (_what, r, reason) => {
    expect(parse(r)).toEqual({ kind: 'rejected', reason });
  });

  it.each([
    ['Observation', obs({ status: 'entered-in-error' })],
    ['Procedure', proc({ status: 'entered-in-error' })],
    ['MedicationStatement', med({ status: 'entered-in-error' })],
    [
      'Condition',
      cond({
        verificationStatus: {
          coding: [
            {
              system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status',
              code: 'entered-in-error',
            },
          ],
        },
      }),
    ],
  ])(
    'a %s recorded in error is not stored: a retraction of its id (reported among the warnings)',
    (_type, r) => {
      expect(parse(r)).toMatchObject({ kind: 'event', retract: 'entered-in-error' });
    },
  );

  it.each([
    ['Procedure', proc({ status: 'not-done' }), 'not-done'],
    ['MedicationStatement', med({ status: 'not-taken' }), 'not-taken'],
    ['Observation', obs({ status: 'cancelled' }), 'cancelled'],
    ['Condition', cond({ verificationStatus: { coding: [{ code: 'refuted' }] } }), 'refuted'],
  ])(
    'a valid %s of what did not happen is no event: a retraction of its id (it was stored as one)',
    (_type, r, why) => {
      expect(parse(r)).toMatchObject({ kind: 'event', retract: why });
    },
  );

  it.each([
    ['Observation', obs({ status: 'unknown' })],
    ['Procedure', proc({ status: 'stopped' })],
    ['MedicationStatement', med({ status: 'intended' })],
    ['Condition', cond({ verificationStatus: { coding: [{ code: 'confirmed' }] } })],
    ['Observation', obs({ effectiveDateTime: '2015-06-07T10:00:00.5+01:00' })],
  ])('a valid %s is stored', (_type, r) => {
    expect(parse(r).kind).toBe('event');
  });

  it.each([
    ['no status', {}],
    ['status missing, its date garbage', { effectiveDateTime: 'garbage' }],
    ['status outside the value set', { status: 'withdrawn-by-patient' }],
    ['status free text', { status: 'Patient asked, see note' }],
    ['status not a string', { status: 42 }],
    ['status entered-in-error', { status: 'entered-in-error' }],
    ['a dateTime without offset', { status: 'final', effectiveDateTime: '2020-01-01T10:00' }],
    ['no date at all', { effectiveDateTime: undefined }],
    ['an id that is not an id', { id: 'not an id!' }],
    ['a value that is not a number', { valueQuantity: { value: 'x' } }],
  ])('an objection entry with %s is still an objection', (_what, o) => {
    for (const code of ['9Nu0', '9Nu4', '827241000000103']) {
      const r = parse(objection(code, o));
      expect(r.kind).toBe('objection');
    }
  });

  it.each([
    ['a Condition onset, a year', cond({ onsetDateTime: '2012' }), 'Condition.onsetDateTime'],
    ['a Condition onset, a year and month', cond({ onsetDateTime: '2012-05' }), 'Condition.onsetDateTime'],
    ['a Procedure, a year and month', proc({ performedDateTime: '2013-02' }), 'Procedure.performedDateTime'],
    [
      'a Patient birth date, a year',
      {
        resourceType: 'Patient',
        id: 'p1',
        identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9434765919' }],
        birthDate: '1970',
      },
      'Patient.birthDate',
    ],
  ])('%s (valid R4) is refused as a partial date, not as "invalid" (it said invalid)', (_what, r, at) => {
    expect(parse(r)).toEqual({
      kind: 'rejected',
      reason: `${at}: a partial date (a year, or a year and month): the centre stores a day`,
    });
  });

  it('property: an objection Observation is an objection whatever its status, date and other elements', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('9Nu0', '9Nu0.', '9Nu4', '827241000000103'),
        fc.option(
          fc.oneof(fc.string(), fc.jsonValue(), fc.constantFrom('final', 'entered-in-error', 'unknown')),
        ),
        fc.option(
          fc.oneof(
            fc.string(),
            fc.jsonValue(),
            fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
          ),
        ),
        fc.dictionary(
          fc.constantFrom(
            'valueQuantity',
            'effectivePeriod',
            'effectiveInstant',
            'issued',
            'category',
            'note',
          ),
          fc.jsonValue(),
        ),
        (code, status, date, extra) => {
          const r = objection(code, {
            ...extra,
            status: status ?? undefined,
            effectiveDateTime: date ?? undefined,
          });
          expect(parse(r).kind).toBe('objection');
        },
      ),
      { numRuns: 2000 },
    );
  });
});
