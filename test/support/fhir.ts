/**
 * Builders for FHIR R4 extract lines (SPEC §2) used by the intake and extractor tests. Each clinical
 * builder writes the elements FHIR R4 requires (`status` included; pass `status: undefined` for a
 * line without one); `objection` writes no status, as practice systems may not (still an objection).
 */
export const NHS = 'https://fhir.nhs.uk/Id/nhs-number';
export const ODS = 'https://fhir.nhs.uk/Id/ods-organization-code';
export const SCT = 'http://snomed.info/sct';
export const READ = 'http://read.info/readv2';
export const ETHNIC = 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory';

/**
 * A valid NHS number for a seed, distinct for distinct seeds: each seed owns ten consecutive stems,
 * of which at most one has check digit 10 (consecutive stems differ by 2 mod 11).
 */
export function nhsNumber(seed: number): string {
  for (let s = seed * 10; ; s++) {
    const stem = String(100_000_000 + (s % 800_000_000)).padStart(9, '0');
    const sum = [...stem].reduce((a, d, i) => a + Number(d) * (10 - i), 0);
    const check = 11 - (sum % 11);
    if (check === 10) continue;
    const n = stem + String(check === 11 ? 0 : check);
    if (/^(\d)\1{9}$/.test(n)) continue;
    return n;
  }
}

export const invalidNhsNumber = (seed: number) => {
  const n = nhsNumber(seed);
  return n.slice(0, 9) + String((Number(n[9]) + 1) % 10);
};

export function patient(id: string, nhs: string, o: Record<string, unknown> = {}, ods = 'A81001') {
  return {
    resourceType: 'Patient',
    id,
    identifier: [{ system: NHS, value: nhs }],
    birthDate: '1970-03-04',
    gender: 'female',
    address: [{ postalCode: 'ls1 4ap' }],
    extension: [{ url: ETHNIC, valueCodeableConcept: { coding: [{ system: 'x', code: 'A' }] } }],
    generalPractitioner: [{ identifier: { system: ODS, value: ods } }],
    ...o,
  };
}

export function condition(id: string, subject: string, o: Record<string, unknown> = {}) {
  return {
    resourceType: 'Condition',
    id,
    subject: { reference: `Patient/${subject}` },
    code: { coding: [{ system: SCT, code: '22298006' }] },
    onsetDateTime: '2012-05-01',
    ...o,
  };
}

export function procedure(id: string, subject: string, o: Record<string, unknown> = {}) {
  return {
    resourceType: 'Procedure',
    id,
    status: 'completed',
    subject: { reference: `Patient/${subject}` },
    code: { coding: [{ system: SCT, code: '80146002' }] },
    performedDateTime: '2013-02-03T10:00:00Z',
    ...o,
  };
}

export function medication(id: string, subject: string, o: Record<string, unknown> = {}) {
  return {
    resourceType: 'MedicationStatement',
    id,
    status: 'active',
    subject: { reference: `Patient/${subject}` },
    medicationCodeableConcept: { coding: [{ system: READ, code: 'bxd5.' }] },
    effectiveDateTime: '2014-01-01',
    ...o,
  };
}

export function observation(id: string, subject: string, o: Record<string, unknown> = {}) {
  return {
    resourceType: 'Observation',
    id,
    status: 'final',
    subject: { reference: `Patient/${subject}` },
    code: { coding: [{ system: SCT, code: '27113001' }] },
    effectiveDateTime: '2015-06-07',
    valueQuantity: { value: 72.5, unit: 'kg' },
    ...o,
  };
}

/** An objection entry: `code` from the SPEC §2 table (Read v2 unless it is the SNOMED one). */
export function objection(id: string, subject: string, code: string, date: string) {
  return {
    resourceType: 'Observation',
    id,
    subject: { reference: `Patient/${subject}` },
    code: { coding: [{ system: /^\d+$/.test(code) ? SCT : READ, code }] },
    effectiveDateTime: date,
  };
}

export const ndjson = (resources: unknown[]) => resources.map((r) => JSON.stringify(r)).join('\n') + '\n';
