// Single modules, not the libraries' indexes: this file is also loaded by the intake's parse thread
// (staging-worker.ts), which must stay small.
import { normaliseNhsNumber } from '@custodian/core/nhs-number';
import { normalisePostcode } from '@custodian/core/postcode';
import { READV2_SYSTEM, SNOMED_SYSTEM } from '@custodian/objections/objection-codes';
import {
  EARLIEST_DATE,
  FHIR_ID,
  NHS_NUMBER_SYSTEM,
  patientIdOf,
  notAStatement,
  readObjection,
  unreadObjection,
  withdrawalInError,
  type ObjectionEntry,
  type Subjects,
} from './objection-entry';

export { EARLIEST_DATE, NHS_NUMBER_SYSTEM } from './objection-entry';

/**
 * The extraction specification (SPEC §2), its second half: how each resource kept by `stripToSpec`
 * (fhir-spec.ts) maps to the centre's tables, and why a line is refused. Pure — shared by the
 * centre's intake and the practice-side extractor.
 */
import {
  asArray,
  CLINICAL_TYPES,
  type ClinicalType,
  CODE_FIELD,
  DATE,
  DATE_FIELDS,
  type DroppedFields,
  ETHNIC_CATEGORY_URL,
  isObject,
  type Json,
  LINKAGE_KEY_SHARED_URL,
  type LineDropped,
  ODS_SYSTEM,
  READ_CODE,
  SNOMED_CODE,
  isUnitCode,
  stripToSpec,
} from './fhir-spec';
import { ENTERED_IN_ERROR, notARecordOf, statusProblem } from './r4-types';
import { objectionKey } from './objection-key';

export interface PatientRow {
  kind: 'patient';
  id: string;
  nhsNumber: string;
  birthDate: string | null;
  sex: 'M' | 'F' | 'U';
  postcode: string | null;
  ethnicity: string | null;
  /** Another person of the practice, a Type 1 objector, has this patient's sex, DOB and postcode. */
  sharedKey: boolean;
}
export interface EventRow {
  kind: 'event';
  id: string;
  subject: string;
  resourceType: (typeof CLINICAL_TYPES)[ClinicalType];
  codeSystem: 'snomed' | 'readv2';
  code: string;
  date: string;
  value: string | null;
  /**
   * Why it is no record of what it codes (`notARecordOf`: recorded in error, refuted, not done, not
   * taken, cancelled): not stored, and what the centre holds under its id from an earlier extract
   * goes (the `R` staging row).
   */
  retract?: string;
}
/** An objection entry (objection-entry.ts): whom it names, what it means, when (UTC). */
export interface ObjectionRow {
  kind: 'objection';
  /** `objectionKey` (resource type, id and date elements, hashed); '' without a valid id. */
  id: string;
  subjects: Pick<Subjects, 'ids' | 'nhsNumbers'>;
  entries: ObjectionEntry[];
  /** To the second, UTC. */
  instant: string;
  /** The UTC date of `instant`. */
  date: string;
  /** At most one: how an odd date was read (never a reason to refuse an objection). */
  warnings: string[];
}
export interface Rejected {
  kind: 'rejected';
  reason: string;
}
/** An objection that names no patient: the extract is refused (fail closed), not just the line. */
export interface Unresolved {
  kind: 'unresolved';
  reason: string;
}
export type Mapped = ((PatientRow | EventRow | ObjectionRow) & LineDropped) | Rejected | Unresolved;

const reject = (reason: string): Rejected => ({ kind: 'rejected', reason });
/** A line that is not JSON, or JSON but not an object: a body of nothing else is not NDJSON at all. */
const MALFORMED_JSON = 'malformed JSON';
const NOT_AN_OBJECT = 'not a JSON object';
export const NOT_JSON: ReadonlySet<string> = new Set([MALFORMED_JSON, NOT_AN_OBJECT]);
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const daysInMonth = (y: number, mo: number) =>
  mo === 2 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : DAYS_IN_MONTH[mo - 1];

const PARTIAL_DATE = /^[0-9]{4}(-(0[1-9]|1[0-2]))?$/;
export const PARTIAL_DATE_REASON = 'a partial date (a year, or a year and month): the centre stores a day';

/** 'YYYY-MM-DD' of a FHIR date or dateTime, or why not. Range: 1895-01-01 to `today` inclusive. */
export function checkDate(v: unknown, today: string): { date: string } | { error: string } {
  if (typeof v !== 'string') return { error: 'invalid date' };
  const m = DATE.exec(v);
  // A year, or a year and month: valid FHIR R4, but the centre keeps events and births by the day,
  // and making one up would release a precision the record never had (said so, not "invalid").
  if (!m) return { error: PARTIAL_DATE.test(v) ? PARTIAL_DATE_REASON : 'invalid date' };
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return { error: 'invalid date' };
  // A time, where given, must be one (an outsider's probe had T25:00:00Z, T23:60:00Z and a +25:00
  // offset stored as the day): hours 0-23, minutes 0-59, seconds 0-60 (FHIR allows a leap second),
  // an offset within ±14:00; and FHIR R4's dateTime has the seconds and the offset with any time.
  const t = m[4] ? /^T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:Z|([+-])(\d{2}):(\d{2}))$/.exec(m[4]) : null;
  if (m[4] && (!t || Number(t[1]) > 23 || Number(t[2]) > 59 || Number(t[3]) > 60))
    return { error: 'invalid date' };
  if (t?.[4] && (Number(t[6]) > 59 || Number(t[5]) * 60 + Number(t[6]) > 14 * 60))
    return { error: 'invalid date' };
  const date = `${m[1]}-${m[2]}-${m[3]}`;
  if (date < EARLIEST_DATE || date > today) return { error: 'date before 1895-01-01 or in the future' };
  return { date };
}

function pickCoding(v: unknown): { system: string; code: string } | string {
  const codings = isObject(v) ? asArray(v.coding).filter(isObject) : [];
  if (!codings.length) return 'code missing';
  const known = codings.find((c) => c.system === SNOMED_SYSTEM || c.system === READV2_SYSTEM);
  if (!known) return 'code system not SNOMED CT or Read v2';
  const code = known.code;
  const ok =
    typeof code === 'string' && (known.system === SNOMED_SYSTEM ? SNOMED_CODE : READ_CODE).test(code);
  if (!ok) return 'invalid code';
  return { system: known.system as string, code: code as string };
}

/**
 * Maps a resource already reduced by `stripToSpec` to a row, or the reason it is refused.
 * `received`: when the extract was read (UTC, to the second) — the date of an objection whose own
 * date cannot be read; by default the end of `today`. `line`: the resource as sent (an objection
 * entry's registration codes are looked for in all of it, not only in what the strip kept).
 */
export function mapResource(
  r: Json,
  practiceOds: string,
  today: string,
  received = `${today}T23:59:59Z`,
  line: Json = r,
): Mapped {
  const type = r.resourceType as string;
  const validId = typeof r.id === 'string' && FHIR_ID.test(r.id);
  if (type === 'Patient') {
    if (!validId) return reject(`${type}.id missing or invalid`);
    return mapPatient(r, practiceOds, today);
  }
  const t = type as ClinicalType;
  // Objections first, in whatever form FHIR allows: never refused as ordinary entries (nor for their id).
  const o = readObjection(r, received, line);
  switch (o.kind) {
    case 'objection': {
      const { ids, nhsNumbers } = o.subjects;
      const warnings = o.warning ? [o.warning] : [];
      return {
        kind: 'objection',
        id: validId ? objectionKey(r) : '',
        subjects: { ids, nhsNumbers },
        entries: o.entries,
        instant: o.instant,
        date: o.date,
        warnings,
      };
    }
    case 'unresolved':
      return { kind: 'unresolved', reason: o.reason };
    case 'rejected':
      return reject(o.reason);
  }
  if (!validId) return reject(`${type}.id missing or invalid`);
  const subject = patientIdOf(isObject(r.subject) ? r.subject.reference : undefined);
  if (!subject) return reject(`${type}.subject is not a Patient reference`);
  const coding = pickCoding(r[CODE_FIELD[t]]);
  if (typeof coding === 'string') return reject(`${type}.${CODE_FIELD[t]}: ${coding}`);
  const dateField = DATE_FIELDS[t].find((f) => r[f] !== undefined);
  if (!dateField) return reject(`${type}: date missing`);
  const date = checkDate(r[dateField], today);
  if ('error' in date) return reject(`${type}.${dateField}: ${date.error}`);
  let value: string | null = null;
  if (isObject(r.valueQuantity)) {
    const q = r.valueQuantity;
    if (typeof q.value !== 'number' || !Number.isFinite(q.value))
      return reject('Observation.valueQuantity.value is not a number');
    // stripToSpec dropped a unit that is no unit code (checked again) and a comparator not R4's; "<5".
    const unit = isUnitCode(q.unit) ? ` ${q.unit}` : '';
    value = `${typeof q.comparator === 'string' ? q.comparator : ''}${q.value}${unit}`.slice(0, 64);
  }
  // `status`: 1..1 in FHIR R4, a code of its value set (r4-types.ts); never asked of an objection.
  const status = statusProblem(type, r.status);
  if (status) return reject(status);
  return {
    kind: 'event',
    id: r.id as string,
    subject,
    resourceType: CLINICAL_TYPES[t],
    codeSystem: coding.system === SNOMED_SYSTEM ? 'snomed' : 'readv2',
    code: coding.code,
    date: date.date,
    value,
  };
}

// A Map, not an object literal: `SEX['__proto__']` or `SEX['constructor']` would find
// Object.prototype's members and pass them on as a sex code (a 500 when the row is stored).
const SEX = new Map<string, 'M' | 'F' | 'U'>([
  ['male', 'M'],
  ['female', 'F'],
  ['other', 'U'],
  ['unknown', 'U'],
]);

function mapPatient(r: Json, practiceOds: string, today: string): PatientRow | Rejected {
  const nhs = asArray(r.identifier).find((i) => isObject(i) && i.system === NHS_NUMBER_SYSTEM) as
    Json | undefined;
  if (!nhs) return reject('Patient.identifier: NHS number missing');
  // The one normaliser an objection's subject is read with (objection-entry.ts): spaces and hyphens
  // people type are dropped, so a spaced number never loses an objection that names this Patient.
  const nhsNumber = typeof nhs.value === 'string' ? normaliseNhsNumber(nhs.value) : undefined;
  if (!nhsNumber) return reject('Patient.identifier: invalid NHS number');
  let birthDate: string | null = null;
  if (r.birthDate !== undefined) {
    if (typeof r.birthDate !== 'string' || r.birthDate.length !== 10)
      return reject(
        `Patient.birthDate: ${typeof r.birthDate === 'string' && PARTIAL_DATE.test(r.birthDate) ? PARTIAL_DATE_REASON : 'invalid date'}`,
      );
    const d = checkDate(r.birthDate, today);
    if ('error' in d) return reject(`Patient.birthDate: ${d.error}`);
    birthDate = d.date;
  }
  let sex: 'M' | 'F' | 'U' = 'U';
  if (r.gender !== undefined) {
    const s = typeof r.gender === 'string' ? SEX.get(r.gender) : undefined;
    if (!s) return reject('Patient.gender: not male, female, other or unknown');
    sex = s;
  }
  let postcode: string | null = null;
  const address = asArray(r.address).find((a) => isObject(a) && a.postalCode !== undefined) as
    Json | undefined;
  if (address) {
    const pc = typeof address.postalCode === 'string' ? normalisePostcode(address.postalCode) : undefined;
    if (!pc) return reject('Patient.address.postalCode: not a UK postcode');
    postcode = pc;
  }
  let ethnicity: string | null = null;
  const ext = asArray(r.extension).find((e) => isObject(e) && e.url === ETHNIC_CATEGORY_URL) as
    Json | undefined;
  if (ext) {
    const coding = isObject(ext.valueCodeableConcept)
      ? asArray(ext.valueCodeableConcept.coding)[0]
      : undefined;
    const code = isObject(coding) ? coding.code : undefined;
    if (typeof code !== 'string' || !/^[A-Z]$/.test(code))
      return reject('Patient.extension: invalid ethnic category');
    ethnicity = code;
  }
  for (const gp of asArray(r.generalPractitioner)) {
    const id = isObject(gp) && isObject(gp.identifier) ? gp.identifier : undefined;
    if (id?.system === ODS_SYSTEM && id.value !== practiceOds)
      return reject('Patient.generalPractitioner: not this practice');
  }
  const sharedKey = asArray(r.extension).some(
    (e) => isObject(e) && e.url === LINKAGE_KEY_SHARED_URL && e.valueBoolean === true,
  );
  return {
    kind: 'patient',
    id: r.id as string,
    nhsNumber,
    birthDate,
    sex,
    postcode,
    ethnicity,
    sharedKey,
  };
}

export type LineOutcome = { kind: 'blank' } | { kind: 'unsupported' } | Mapped;

/** The warning of a line recorded in error (staging-block.ts). */
export const IN_ERROR = `${ENTERED_IN_ERROR}, recorded in error: not stored, and what the centre held under its id is removed`;
/** The warning of a clinical line that is no record of what it codes (`retract`, `notARecordOf`). */
export const retractedWarning = (why: string) =>
  why === ENTERED_IN_ERROR
    ? IN_ERROR
    : `${why}, a record that it did not happen: not stored, and what the centre held under its id is removed`;
const BLANK = { kind: 'blank' } as const;
const UNSUPPORTED = { kind: 'unsupported' } as const;
const WHITESPACE_ONLY = /^\s*$/;

/**
 * One NDJSON line: parse, strip to the specification, validate and map. Never throws. The fields
 * removed are counted into `dropped` (by path, as `stripToSpec`), so that a caller reading millions
 * of lines keeps one set of totals rather than one object per line.
 */
export function parseExtractLine(
  text: string,
  practiceOds: string,
  today: string,
  dropped: DroppedFields = Object.create(null),
  received?: string,
  /** Told of a line that is a Patient, as parsed (staging-block.ts `identityRows`), whatever becomes of it. */
  onPatient?: (patient: Record<string, unknown>) => void,
): LineOutcome {
  // A byte order mark (a file saved by a Windows tool) is not part of the line's JSON: read past it,
  // as the service's JSON bodies and cohort files are (it made an objection line malformed).
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (WHITESPACE_ONLY.test(text)) return BLANK;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return unreadOr(text, undefined, reject(MALFORMED_JSON));
  }
  if (!isObject(json)) return unreadOr(text, json, reject(NOT_AN_OBJECT));
  if (json.resourceType === 'Patient') onPatient?.(json);
  if (typeof json.resourceType !== 'string') return unreadOr(text, json, reject('resourceType missing'));
  // The fields removed count only for what is stored: a refused line's were counted among the
  // extract's dropped fields (3 names for 2 Patients stored: an outsider's probe, 2026-12-07).
  const lineDropped: DroppedFields = Object.create(null);
  const { resource } = stripToSpec(json, lineDropped);
  if (!resource) return unreadOr(text, json, UNSUPPORTED);
  let mapped = mapResource(resource, practiceOds, today, received, json);
  // A clinical record made in error, or of what did not happen (a refuted diagnosis, a procedure not
  // done, a medication not taken, a cancelled observation: its status, a Condition's
  // verificationStatus, read before the strip), is no event, and takes back what an earlier extract
  // stored under its id; an objection entry is never looked at for it (fail closed).
  const negated = mapped.kind === 'event' ? notARecordOf(json) : undefined;
  if (mapped.kind === 'event' && negated) mapped = { ...mapped, retract: negated };
  // An objection entry that is no valid statement (in error, cancelled: read from the line as sent,
  // before the strip dropped an odd status) withdraws nothing; its registrations stand.
  if (mapped.kind === 'objection' && notAStatement(json)) {
    const entries = mapped.entries.filter((e) => e.action === 'register');
    mapped = entries.length ? { ...mapped, entries } : reject(withdrawalInError(json.resourceType));
  }
  if (mapped.kind === 'patient' || mapped.kind === 'event') countIgnored(resource, lineDropped);
  const outcome = unreadOr(text, json, mapped);
  if (outcome.kind === 'patient' || outcome.kind === 'event' || outcome.kind === 'objection') {
    let any = false;
    for (const k in lineDropped) {
      dropped[k] = (dropped[k] ?? 0) + lineDropped[k];
      any = true;
    }
    if (any) outcome.dropped = lineDropped;
  }
  return outcome;
}

/** `outcome`, unless the line carries an objection code it was not read as (objection-entry.ts): then the extract is refused. */
function unreadOr(text: string, json: unknown, outcome: LineOutcome): LineOutcome {
  const reason = unreadObjection(text, json);
  return reason ? { kind: 'unresolved', reason } : outcome;
}

/**
 * Counts in `into` (under `IGNORED_PREFIX`) the elements of a stored resource that the
 * specification lets through but the centre does not use, by element path (`Observation.status`),
 * so that the extract report can say what a practice sent that was not used.
 */
export const IGNORED_PREFIX = 'ignored:';
function countIgnored(r: Json, into: DroppedFields): void {
  const type = r.resourceType as string;
  const count = (path: string, n = 1) => {
    if (n > 0) into[`${IGNORED_PREFIX}${type}.${path}`] = (into[`${IGNORED_PREFIX}${type}.${path}`] ?? 0) + n;
  };
  if (type === 'Patient') {
    // One NHS number, one postcode and one ethnic category are read; the practice is the uploader.
    count('identifier', asArray(r.identifier).length - 1);
    count('address', asArray(r.address).length - 1);
    count('extension', asArray(r.extension).length - 1);
    if (r.generalPractitioner !== undefined) count('generalPractitioner');
    return;
  }
  const t = type as ClinicalType;
  if (r.status !== undefined) count('status');
  const dates = DATE_FIELDS[t].filter((f) => r[f] !== undefined);
  for (const f of dates.slice(1)) count(f);
  for (const f of ['onsetPeriod', 'performedPeriod', 'effectivePeriod']) if (r[f] !== undefined) count(f);
  const code = r[CODE_FIELD[t]];
  count(`${CODE_FIELD[t]}.coding`, (isObject(code) ? asArray(code.coding).length : 0) - 1);
  if (isObject(r.subject) && r.subject.identifier !== undefined) count('subject.identifier');
}
