// Single modules, not the libraries' indexes: this file is also loaded by the intake's parse thread
// (staging-worker.ts), which must stay small.
import { normaliseNhsNumber } from '@custodian/core/nhs-number';
import { notARecordOf } from './r4-types';
import {
  OBJECTION_CODES,
  objectionFor,
  type ObjectionAction,
  type ObjectionType,
} from '@custodian/objections/objection-codes';

/**
 * How an objection is read from a FHIR R4 resource (SPEC §2, issues #28 and #19) — the one
 * definition, used by the centre's intake (`fhir.ts` → staging rows) and by the practice-side
 * extractor (`extractor.ts`), so that both always agree on who objected, to what, and when.
 *
 * - **Codings**: every coding of `code` is looked at, not the first; a Read v2 or SNOMED CT code of
 *   the objection table anywhere makes the entry an objection (an objection and its withdrawal in one
 *   entry: the objection).
 * - **Subjects**: `subject.reference` as FHIR allows it — `Patient/<id>`, versioned
 *   (`Patient/<id>/_history/<v>`), absolute (`https://…/Patient/<id>`, also versioned) — and/or
 *   `subject.identifier` with the NHS-number system. An entry naming both names both.
 * - **Dates**: the instant in UTC to the second, the offset applied. An odd date never loses an
 *   objection (a registration): date-only and partial dates read as their start, `effectivePeriod`
 *   as its start (else its end), anything missing, unreadable, before 1895 or in the future as the
 *   time received — each with a warning. A withdrawal whose date cannot be read is refused instead:
 *   read at the time received it would beat every objection and release the patient.
 *
 * Pure, values never in messages.
 */
export const NHS_NUMBER_SYSTEM = 'https://fhir.nhs.uk/Id/nhs-number';
export const EARLIEST_DATE = '1895-01-01';
export const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

/** A literal reference to a Patient: relative or absolute, optionally versioned. */
const PATIENT_REFERENCE =
  /^(?:[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s/?#]+(?:\/[^\s/?#]+)*\/)?Patient\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/** The local Patient id of a reference (any form FHIR allows for a resource at rest), if it names one. */
export function patientIdOf(reference: unknown): string | undefined {
  return typeof reference === 'string' ? PATIENT_REFERENCE.exec(reference)?.[1] : undefined;
}

export interface Subjects {
  /** Local Patient ids, from `subject.reference`. */
  ids: string[];
  /** Valid NHS numbers (spaces removed), from `subject.identifier`. */
  nhsNumbers: string[];
  /** An NHS-number identifier was given but is not a valid NHS number. */
  invalidNhsNumber: boolean;
}

/** Whom a resource's `subject` names. */
export function subjectsOf(subject: unknown): Subjects {
  const out: Subjects = { ids: [], nhsNumbers: [], invalidNhsNumber: false };
  if (!isObject(subject)) return out;
  const id = patientIdOf(subject.reference);
  if (id) out.ids.push(id);
  // Reference.identifier is one Identifier; an array is tolerated (an objection must not be lost).
  for (const i of asArray(subject.identifier)) {
    if (!isObject(i) || i.system !== NHS_NUMBER_SYSTEM) continue;
    const n = typeof i.value === 'string' ? normaliseNhsNumber(i.value) : undefined;
    if (n) {
      if (!out.nhsNumbers.includes(n)) out.nhsNumbers.push(n);
    } else out.invalidNhsNumber = true;
  }
  return out;
}

/** The NHS numbers on a Patient resource, as `subjectsOf` reads them; invalid ones as given (trimmed). */
export function patientNhsNumbers(patient: Json): string[] {
  const out: string[] = [];
  for (const i of asArray(patient.identifier)) {
    if (!isObject(i) || i.system !== NHS_NUMBER_SYSTEM || typeof i.value !== 'string') continue;
    const n = normaliseNhsNumber(i.value) ?? i.value.trim();
    if (n && !out.includes(n)) out.push(n);
  }
  return out;
}

export interface ObjectionEntry {
  type: ObjectionType;
  action: ObjectionAction;
}

/**
 * The objection meanings of a CodeableConcept, one per type (Type 1 first): every coding is looked
 * at; for a type both registered and withdrawn in one entry, the registration. Empty: not an objection.
 */
export function objectionEntriesOf(codeable: unknown): ObjectionEntry[] {
  if (!isObject(codeable)) return [];
  const found = new Map<ObjectionType, ObjectionAction>();
  for (const c of asArray(codeable.coding)) {
    if (!isObject(c) || typeof c.system !== 'string' || typeof c.code !== 'string') continue;
    const o = objectionFor(c.system, c.code.trim());
    if (o && found.get(o.type) !== 'register') found.set(o.type, o.action);
  }
  return (['type1', 'type2'] as const)
    .filter((t) => found.has(t))
    .map((type) => ({ type, action: found.get(type)! }));
}

/**
 * Any code of the objection table in a line's text, in any case, as a token of its own: not inside a
 * run of base64 or of letters and digits. Base64 (a photo's or an attachment's `data`) holds one of
 * the 64 case forms of `9Nu0` about once in 260,000 characters, and refused whole exports and
 * extracts that carried one (a review, 2026-12-07); a code glued to letters or digits is another
 * code, which the reader would not read as an objection either.
 */
const CODE_MENTION = new RegExp(
  `(?<![A-Za-z0-9+/])(?:${OBJECTION_CODES.map((c) => c.code.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})(?![A-Za-z0-9+/=])`,
  'gi',
);
const CODE_TEST = new RegExp(CODE_MENTION.source, 'i');
const TYPE_OF_CODE = new Map(OBJECTION_CODES.map((c) => [c.code.toLowerCase(), c.type]));

/** Whether a line's text may carry an objection code (a code of the table, or a JSON escape that may hide one). */
export const mayCarryObjectionCode = (text: string): boolean => CODE_TEST.test(text) || text.includes('\\u');

export const UNREAD_OBJECTION =
  'an objection code in a form the centre cannot read as an objection (resource type, code system or coding)';

/**
 * Fail closed on objections the reader does not recognise (an outsider's probe, 2026-12-07): a line
 * whose text carries a code of the objection table, of a type that reading the line as an objection
 * does not find — not JSON (a byte order mark, a broken line), another resource type
 * (`observation`, `Flag`, `Consent`), another system URI (`…/readv2/`), the code as a plain string —
 * would otherwise be refused or dropped as an ordinary line and the objector stored. Returns the
 * reason to refuse the whole extract, else undefined. `json`: the line parsed, where it parsed
 * (its strings are looked at too, so that a code written with JSON escapes is seen).
 */
export function unreadObjection(text: string, json: unknown): string | undefined {
  if (!mayCarryObjectionCode(text)) return undefined;
  const mentioned = new Set<ObjectionType>();
  const scan = (t: string) => {
    for (const m of t.matchAll(CODE_MENTION)) mentioned.add(TYPE_OF_CODE.get(m[0].toLowerCase())!);
  };
  // The line's values (escapes decoded), but not the names a record gives itself and others (ids,
  // references, identifiers' values: `Patient/later-9Nu0` names a patient, it codes nothing); a
  // line that is no JSON, all of its text.
  const walk = (v: unknown, key: string, parent: string): void => {
    if (typeof v === 'string') {
      // Not an attachment's base64 content (`data`: base64Binary, no coded entry).
      if (
        key !== 'id' &&
        key !== 'reference' &&
        key !== 'data' &&
        !(key === 'value' && parent === 'identifier')
      )
        scan(v);
    } else if (Array.isArray(v)) for (const x of v) walk(x, key, parent);
    else if (isObject(v)) for (const [k, x] of Object.entries(v)) walk(x, k, key);
  };
  // Not JSON: its text, JSON escapes decoded (`\u0039Nu0` is the code; matched raw it was found
  // only by chance, `…0039Nu0` holding `9Nu0`).
  if (json === undefined)
    scan(text.replace(/\\u([0-9a-fA-F]{4})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))));
  else walk(json, '', '');
  if (!mentioned.size) return undefined;
  const r = isObject(json) ? json : undefined;
  const read =
    r && typeof r.resourceType === 'string' && OBJECTION_DATE_FIELDS[r.resourceType]
      ? objectionEntriesOf(r.code).map((e) => e.type)
      : [];
  return [...mentioned].some((t) => !read.includes(t)) ? UNREAD_OBJECTION : undefined;
}

const DATE_TIME =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

type Precision = 'full' | 'no-offset' | 'date' | 'partial';

/**
 * A FHIR date, dateTime or instant as a UTC instant to the second ('YYYY-MM-DDTHH:MM:SSZ'), with
 * how precise it was; undefined when it is not one (wrong form, impossible date, bad offset).
 */
export function readInstant(v: unknown): { instant: string; precision: Precision } | undefined {
  if (typeof v !== 'string') return undefined;
  const m = DATE_TIME.exec(v);
  if (!m) return undefined;
  const [, ys, mos, ds, hs, mis, ss, zone] = m;
  const y = Number(ys);
  const mo = mos === undefined ? 1 : Number(mos);
  const d = ds === undefined ? 1 : Number(ds);
  const h = hs === undefined ? 0 : Number(hs);
  const mi = mis === undefined ? 0 : Number(mis);
  const s = ss === undefined ? 0 : Number(ss);
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return undefined;
  let offsetMinutes = 0;
  if (zone && zone !== 'Z') {
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(4, 6));
    if (oh > 14 || om > 59 || (oh === 14 && om > 0)) return undefined;
    offsetMinutes = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const local = Date.UTC(y, mo - 1, d, h, mi, s);
  const check = new Date(local);
  // Date.UTC maps years 0–99 to 1900–1999; such years are out of range anyway.
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d)
    return undefined;
  const instant = new Date(local - offsetMinutes * 60_000).toISOString().slice(0, 19) + 'Z';
  const precision: Precision =
    ds === undefined ? 'partial' : hs === undefined ? 'date' : zone === undefined ? 'no-offset' : 'full';
  return { instant, precision };
}

/** How a warning ends when a registration's date could not be used: it counts from the time received. */
export const TIME_RECEIVED = 'time received used';

const NOTE: Record<Precision, string | undefined> = {
  full: undefined,
  'no-offset': 'time without offset, read as UTC',
  date: 'date only, read as 00:00:00 UTC',
  partial: 'partial date, read as its start',
};

export type ObjectionDate = { instant: string; date: string; warning?: string } | { error: string };

/**
 * The resources an objection may be recorded on, and where each keeps its date, in order of
 * preference (a `…Period` is read as its start, else its end). SPEC §2 has objections on
 * Observations; a practice system that codes one on a Condition or Procedure is still heard (fail
 * closed): the code, not the resource type, makes the objection.
 */
export const OBJECTION_DATE_FIELDS: Record<string, readonly string[]> = {
  Observation: ['effectiveDateTime', 'effectiveInstant', 'effectivePeriod'],
  Condition: ['onsetDateTime', 'recordedDate', 'onsetPeriod'],
  Procedure: ['performedDateTime', 'performedPeriod'],
};

/**
 * When an objection entry took effect, as a UTC instant to the second and its UTC date. `received`
 * is the time the extract was read ('YYYY-MM-DDTHH:MM:SSZ'): what a registration with no readable
 * date, or one in the future, counts from. A withdrawal without a readable date is an error (the
 * line is refused, the withdrawal not applied).
 */
export function objectionDate(r: Json, action: ObjectionAction, received: string): ObjectionDate {
  const type = String(r.resourceType);
  const field = (OBJECTION_DATE_FIELDS[type] ?? []).find((f) => r[f] !== undefined);
  if (!field) {
    if (action === 'withdraw') return { error: `${type}: date missing` };
    return at(received, `${type}: objection date missing, ${TIME_RECEIVED}`);
  }
  let value: unknown = r[field];
  let periodNote: string | undefined;
  if (field.endsWith('Period')) {
    const p = isObject(value) ? value : {};
    const start = readInstant(p.start);
    if (start || p.end === undefined) [value, periodNote] = [p.start, 'period, its start used'];
    else [value, periodNote] = [p.end, 'period without a start, its end used'];
  }
  const read = readInstant(value);
  const path = `${type}.${field}`;
  if (!read) {
    if (action === 'withdraw') return { error: `${path}: invalid date` };
    return at(received, `${path}: invalid date, ${TIME_RECEIVED}`);
  }
  if (read.instant.slice(0, 10) < EARLIEST_DATE || read.instant > received) {
    if (action === 'withdraw') return { error: `${path}: date before 1895-01-01 or in the future` };
    return at(received, `${path}: date before 1895-01-01 or in the future, ${TIME_RECEIVED}`);
  }
  const note = periodNote ?? NOTE[read.precision];
  return at(read.instant, note && `${path}: ${note}`);
}

function at(instant: string, warning?: string): ObjectionDate {
  return warning ? { instant, date: instant.slice(0, 10), warning } : { instant, date: instant.slice(0, 10) };
}

/** Now, to the second, in UTC. */
export const instantUtc = (now = new Date()) => now.toISOString().slice(0, 19) + 'Z';

export const NAMES_NO_PATIENT = 'an objection that names no patient';
export const INVALID_NHS_NUMBER = 'an objection whose NHS number is invalid';

/** An objection entry read from a resource, or why it cannot be used. */
export type ObjectionReading =
  | { kind: 'none' }
  | {
      kind: 'objection';
      entries: ObjectionEntry[];
      subjects: Subjects;
      instant: string;
      date: string;
      warning?: string;
    }
  /** An objection (a registration) that names no patient: fail closed — the whole extract is refused. */
  | { kind: 'unresolved'; reason: string }
  /** An entry that cannot be applied and whose refusal releases nobody (a withdrawal, an invalid NHS number). */
  | { kind: 'rejected'; reason: string };

/**
 * Reads `r` as an objection entry: an Observation (SPEC §2), Condition or Procedure with an
 * objection code in any coding of `code`. Anything else is `none`.
 */
export function readObjection(r: Json, received: string): ObjectionReading {
  const type = r.resourceType;
  if (typeof type !== 'string' || !OBJECTION_DATE_FIELDS[type]) return { kind: 'none' };
  const coded = objectionEntriesOf(r.code);
  if (!coded.length) return { kind: 'none' };
  // An entry recorded in error (its status; a Condition's verificationStatus) withdraws nothing: it
  // was never a valid statement (an attack on the day's change: a withdrawal marked in error lifted
  // the objection and released the patient). Its registrations still count (fail closed).
  const entries = notAStatement(r) ? coded.filter((e) => e.action === 'register') : coded;
  if (!entries.length) return { kind: 'rejected', reason: withdrawalInError(type) };
  const registers = entries.some((e) => e.action === 'register');
  const subjects = subjectsOf(r.subject);
  if (!subjects.ids.length && !subjects.nhsNumbers.length) {
    // An NHS number that is not one (a typing error?) names nobody we can find: the same.
    if (registers) {
      const reason = `${type}.subject: ${subjects.invalidNhsNumber ? INVALID_NHS_NUMBER : NAMES_NO_PATIENT}`;
      return { kind: 'unresolved', reason };
    }
    const why = subjects.invalidNhsNumber ? 'whose NHS number is invalid' : 'that names no patient';
    return { kind: 'rejected', reason: `${type}.subject: a withdrawal ${why} (not applied)` };
  }
  const d = objectionDate(r, registers ? 'register' : 'withdraw', received);
  if ('error' in d) return { kind: 'rejected', reason: d.error };
  // Of an entry registering one type and withdrawing the other, a withdrawal read at the time
  // received (no readable date) would release the patient: only the registration is kept.
  const kept = d.warning?.endsWith(TIME_RECEIVED) ? entries.filter((e) => e.action === 'register') : entries;
  return { kind: 'objection', entries: kept, subjects, ...d };
}

/**
 * Whether an entry says it is no valid statement: recorded in error (`status`, or a Condition's
 * `verificationStatus`, r4-types.ts), or — any resource type, any case — a status of
 * `entered-in-error` or `cancelled`, or a record that it did not happen (`notARecordOf`: a refuted
 * Condition, a Procedure not done; a withdrawal so coded lifted the objection: a review,
 * 2026-12-07). Such an entry withdraws nothing.
 */
export function notAStatement(r: Json): boolean {
  const status = typeof r.status === 'string' ? r.status.trim().toLowerCase() : undefined;
  // notARecordOf covers recorded in error too (read with the status trimmed and in lower case).
  return (
    status === 'entered-in-error' ||
    status === 'cancelled' ||
    notARecordOf(status === undefined ? r : { ...r, status }) !== undefined
  );
}

/** The reason a withdrawal that is no valid statement is not applied. */
export const withdrawalInError = (type: string) =>
  `${type}: a withdrawal recorded in error or cancelled (not applied)`;
