/**
 * What FHIR R4 (4.0.1, hl7.org/fhir/R4) requires of the elements an extract carries — one
 * definition, read by the centre's intake (`fhir.ts`, on the parse thread too: this file imports
 * nothing) and by the practice-side extractor (`r4-required.ts`). SPEC §2: "every clinical resource
 * keeps the elements FHIR R4 requires … in the export and in the extract".
 *
 * Cardinalities (R4 resource definitions): `status` 1..1 on Observation, Procedure and
 * MedicationStatement, with a required binding (the value sets below); `subject` 1..1 on Condition,
 * Procedure and MedicationStatement (0..1 on Observation); `code` 1..1 on Observation (0..1 on
 * Condition and Procedure); `medication[x]` 1..1 on MedicationStatement. Condition has no `status`
 * element; its `clinicalStatus`/`verificationStatus` (0..1, invariants con-3 guideline, con-4 and
 * con-5 rules) are not part of the extract (stripped), so the invariants hold in it vacuously.
 * Patient has no element of cardinality 1..1; its `gender` has a required binding
 * (male | female | other | unknown) and `birthDate` is a `date`.
 */
type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The required value sets of `status` (R4). */
export const R4_STATUS_CODES: Record<string, readonly string[]> = {
  Observation: [
    'registered',
    'preliminary',
    'final',
    'amended',
    'corrected',
    'cancelled',
    'entered-in-error',
    'unknown',
  ],
  Procedure: [
    'preparation',
    'in-progress',
    'not-done',
    'on-hold',
    'stopped',
    'completed',
    'entered-in-error',
    'unknown',
  ],
  MedicationStatement: [
    'active',
    'completed',
    'entered-in-error',
    'intended',
    'stopped',
    'on-hold',
    'unknown',
    'not-taken',
  ],
};
const STATUS_SETS = new Map(Object.entries(R4_STATUS_CODES).map(([t, codes]) => [t, new Set(codes)]));

/** The status (and Condition verification status) code of a record made in error. */
export const ENTERED_IN_ERROR = 'entered-in-error';
/** R4's code system of a Condition's `verificationStatus`. */
export const CONDITION_VERIFICATION_SYSTEM = 'http://terminology.hl7.org/CodeSystem/condition-ver-status';

/** The R4 primitive types' regular expressions (as published in fhir.schema.json). */
const YEAR = '([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)';
const ZONE = '(Z|(\\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))';
const TIME = `([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\\.[0-9]+)?`;
export const R4_DATE = new RegExp(`^${YEAR}(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?$`);
export const R4_DATE_TIME = new RegExp(
  `^${YEAR}(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T${TIME}${ZONE})?)?)?$`,
);
export const R4_INSTANT = new RegExp(`^${YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T${TIME}${ZONE}$`);
export const R4_ID = /^[A-Za-z0-9\-.]{1,64}$/;
export const R4_CODE = /^[^\s]+(\s[^\s]+)*$/;
const R4_URI = /^\S*$/;

/**
 * Why a clinical resource's `status` is not what R4 requires of its type (undefined: it is, or the
 * type has no status). A Set lookup: a few nanoseconds a line.
 */
export function statusProblem(type: string, status: unknown): string | undefined {
  const codes = STATUS_SETS.get(type);
  if (!codes || (typeof status === 'string' && codes.has(status))) return undefined;
  return status === undefined
    ? `${type}.status: missing (FHIR R4 requires it)`
    : `${type}.status: not a code of its FHIR R4 value set`;
}

/**
 * Whether a resource, as received, says it was recorded in error: `status` entered-in-error
 * (Observation, Procedure, MedicationStatement), or a Condition whose `verificationStatus` codes it.
 */
export function recordedInError(r: Json): boolean {
  if (r.resourceType === 'Condition') return verifiedAs(r, ENTERED_IN_ERROR);
  return r.status === ENTERED_IN_ERROR && STATUS_SETS.has(r.resourceType as string);
}

/** Whether a Condition's `verificationStatus` codes `code`. */
function verifiedAs(r: Json, code: string): boolean {
  const v = r.verificationStatus;
  return isObject(v) && Array.isArray(v.coding) && v.coding.some((c) => isObject(c) && c.code === code);
}

/**
 * The status (a Condition's verification status) that says what a clinical resource codes did not
 * happen: ruled out, not done, not taken, called off. Such a record is no event of the patient's.
 */
export const NOT_HAPPENED_CODES: Record<string, string> = {
  Condition: 'refuted',
  Procedure: 'not-done',
  MedicationStatement: 'not-taken',
  Observation: 'cancelled',
};

/**
 * Why a clinical resource, as received, is no record of what it codes (undefined: it is one):
 * `entered-in-error` (recorded in error), or its type's code of `NOT_HAPPENED_CODES` (a refuted
 * diagnosis, a procedure not done, a medication not taken, a cancelled observation). Either way the
 * centre stores nothing of it and takes back what an earlier extract stored under its id.
 */
export function notARecordOf(r: Json): string | undefined {
  if (recordedInError(r)) return ENTERED_IN_ERROR;
  const type = r.resourceType as string;
  const code = NOT_HAPPENED_CODES[type];
  if (code === undefined) return undefined;
  return (type === 'Condition' ? verifiedAs(r, code) : r.status === code) ? code : undefined;
}

const DATE_TIME_FIELDS = ['onsetDateTime', 'recordedDate', 'performedDateTime', 'effectiveDateTime'];
const PERIOD_FIELDS = ['onsetPeriod', 'performedPeriod', 'effectivePeriod'];
const GENDER = new Set(['male', 'female', 'other', 'unknown']);
const str = (v: unknown) => typeof v === 'string' && v.length > 0;
const uri = (v: unknown) => str(v) && R4_URI.test(v as string);

function codingProblem(v: unknown, at: string): string | undefined {
  if (!isObject(v)) return `${at}: not a CodeableConcept`;
  if (!Array.isArray(v.coding)) return v.coding === undefined ? undefined : `${at}.coding: not a list`;
  for (const c of v.coding) {
    if (!isObject(c)) return `${at}.coding: not a Coding`;
    if (c.system !== undefined && !uri(c.system)) return `${at}.coding.system: not a FHIR R4 uri`;
    if (c.code !== undefined && !(typeof c.code === 'string' && R4_CODE.test(c.code)))
      return `${at}.coding.code: not a FHIR R4 code`;
  }
  return undefined;
}

function identifierProblem(v: unknown, at: string): string | undefined {
  if (!isObject(v)) return `${at}: not an Identifier`;
  if (v.system !== undefined && !uri(v.system)) return `${at}.system: not a FHIR R4 uri`;
  if (v.value !== undefined && !str(v.value)) return `${at}.value: not a string`;
  return undefined;
}

/** A FHIR R4 Period's dates, and per-1 (start not after end, where both can be compared). */
export function periodProblem(v: unknown, at: string): string | undefined {
  if (!isObject(v)) return `${at}: not a Period`;
  for (const k of ['start', 'end'])
    if (v[k] !== undefined && !(typeof v[k] === 'string' && R4_DATE_TIME.test(v[k])))
      return `${at}.${k}: not a FHIR R4 dateTime`;
  // Compared where their text orders them as time does: one length, dates only or both in UTC.
  const [s, e] = [v.start, v.end] as [string | undefined, string | undefined];
  const comparable =
    s && e && s.length === e.length && (s.length <= 10 || (s.endsWith('Z') && e.endsWith('Z')));
  if (comparable && s > e) return `${at}: start after end (per-1)`;
  return undefined;
}

/** Whether `v` is a valid FHIR R4 value of the date element `field` (a dateTime, instant or Period). */
export function dateElementValid(field: string, v: unknown): boolean {
  if (field.endsWith('Period')) return periodProblem(v, field) === undefined;
  if (field === 'effectiveInstant') return typeof v === 'string' && R4_INSTANT.test(v);
  return typeof v === 'string' && R4_DATE_TIME.test(v);
}

/**
 * The first way a resource reduced by `stripToSpec` is not FHIR R4: a required element missing, or
 * an element it keeps not of its R4 type (undefined: none). Used by the extractor on what it writes.
 */
export function r4Problem(r: Json): string | undefined {
  const type = r.resourceType as string;
  if (r.id !== undefined && !(typeof r.id === 'string' && R4_ID.test(r.id)))
    return `${type}.id: not a FHIR R4 id`;
  if (type === 'Patient') {
    for (const i of Array.isArray(r.identifier) ? r.identifier : []) {
      const p = identifierProblem(i, 'Patient.identifier');
      if (p) return p;
    }
    if (r.birthDate !== undefined && !(typeof r.birthDate === 'string' && R4_DATE.test(r.birthDate)))
      return 'Patient.birthDate: not a FHIR R4 date';
    if (r.gender !== undefined && !(typeof r.gender === 'string' && GENDER.has(r.gender)))
      return 'Patient.gender: not male, female, other or unknown';
    for (const a of Array.isArray(r.address) ? r.address : [])
      if (!isObject(a) || !str(a.postalCode)) return 'Patient.address.postalCode: not a string';
    for (const e of Array.isArray(r.extension) ? r.extension : []) {
      if (!isObject(e) || !uri(e.url)) return 'Patient.extension.url: missing (FHIR R4 requires it)';
      if (e.valueBoolean !== undefined && typeof e.valueBoolean !== 'boolean')
        return 'Patient.extension.valueBoolean: not a boolean';
      const p =
        e.valueCodeableConcept === undefined
          ? undefined
          : codingProblem(e.valueCodeableConcept, 'Patient.extension.valueCodeableConcept');
      if (p) return p;
    }
    for (const g of Array.isArray(r.generalPractitioner) ? r.generalPractitioner : []) {
      const p = isObject(g)
        ? identifierProblem(g.identifier, 'Patient.generalPractitioner.identifier')
        : 'Patient.generalPractitioner: not a Reference';
      if (p) return p;
    }
    return undefined;
  }
  const status = statusProblem(type, r.status);
  if (status) return status;
  if (r.subject === undefined && type !== 'Observation')
    return `${type}.subject: missing (FHIR R4 requires it)`;
  if (r.subject !== undefined) {
    const s = r.subject;
    if (!isObject(s)) return `${type}.subject: not a Reference`;
    if (s.reference !== undefined && !str(s.reference)) return `${type}.subject.reference: not a string`;
    const p =
      s.identifier === undefined ? undefined : identifierProblem(s.identifier, `${type}.subject.identifier`);
    if (p) return p;
  }
  const codeField = type === 'MedicationStatement' ? 'medicationCodeableConcept' : 'code';
  if (r[codeField] === undefined && (type === 'Observation' || type === 'MedicationStatement'))
    return `${type}.${codeField}: missing (FHIR R4 requires it)`;
  const coded = r[codeField] === undefined ? undefined : codingProblem(r[codeField], `${type}.${codeField}`);
  if (coded) return coded;
  for (const f of [...DATE_TIME_FIELDS, ...PERIOD_FIELDS, 'effectiveInstant'])
    if (r[f] !== undefined && !dateElementValid(f, r[f]))
      return f.endsWith('Period')
        ? periodProblem(r[f], `${type}.${f}`)
        : `${type}.${f}: not a FHIR R4 ${f === 'effectiveInstant' ? 'instant' : 'dateTime'}`;
  if (r.valueQuantity !== undefined) {
    const q = r.valueQuantity;
    if (!isObject(q) || (q.value !== undefined && !(typeof q.value === 'number' && Number.isFinite(q.value))))
      return `${type}.valueQuantity.value: not a FHIR R4 decimal`;
    if (q.unit !== undefined && !str(q.unit)) return `${type}.valueQuantity.unit: not a string`;
    if (q.comparator !== undefined && !['<', '<=', '>=', '>'].includes(q.comparator as string))
      return `${type}.valueQuantity.comparator: not a FHIR R4 QuantityComparator`;
  }
  return undefined;
}
