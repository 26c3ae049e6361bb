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
import { objectionDate, OBJECTION_DATE_FIELDS } from './objection-date';

export {
  EARLIEST_DATE,
  instantUtc,
  objectionDate,
  OBJECTION_DATE_FIELDS,
  readInstant,
  TIME_RECEIVED,
  type ObjectionDate,
} from './objection-date';

/**
 * How an objection is read from a FHIR R4 resource (SPEC §2, issues #28 and #19) — the one
 * definition, used by the centre's intake (`fhir.ts` → staging rows) and by the practice-side
 * extractor (`extractor.ts`), so that both always agree on who objected, to what, and when.
 *
 * - **Codings**: every coding of `code` is looked at, not the first; a Read v2 or SNOMED CT code of
 *   the objection table anywhere makes the entry an objection (an objection and its withdrawal in one
 *   entry: the objection). A withdrawal that carries its type's registration code anywhere else in
 *   the entry (a value, a component, a note…) is read as that registration (`registrationsCarried`).
 * - **Subjects**: `subject.reference` as FHIR allows it — `Patient/<id>`, versioned
 *   (`Patient/<id>/_history/<v>`), absolute (`https://…/Patient/<id>`, also versioned) — and/or
 *   `subject.identifier` with the NHS-number system. An entry naming both names both.
 * - **Dates** (objection-date.ts): the instant in UTC to the second, the offset applied; every date
 *   element the entry carries is read — a registration at the latest, a withdrawal at the earliest.
 *   An odd date never loses an objection (a registration): a registration dated by a day, a month
 *   or a year is read at the last second it covers, no later than the time received, a withdrawal
 *   at the first; a period at its start (SPEC §2); anything missing, unreadable, before 1895, in the
 *   future, a period without a start or one ending before it starts reads as the time received —
 *   each with a warning. A
 *   withdrawal with any such date is refused instead: read at the time received it would beat every
 *   objection and release the patient.
 *
 * Pure, values never in messages.
 */
export const NHS_NUMBER_SYSTEM = 'https://fhir.nhs.uk/Id/nhs-number';
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
const CODE_OF = new Map(OBJECTION_CODES.map((c) => [c.code.toLowerCase(), c]));

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
  const mentioned = new Set([...codesMentioned(text, json)].map((c) => CODE_OF.get(c)!.type));
  if (!mentioned.size) return undefined;
  const r = isObject(json) ? json : undefined;
  const read =
    r && typeof r.resourceType === 'string' && OBJECTION_DATE_FIELDS[r.resourceType]
      ? objectionEntriesOf(r.code).map((e) => e.type)
      : [];
  return [...mentioned].some((t) => !read.includes(t)) ? UNREAD_OBJECTION : undefined;
}

/**
 * The codes of the objection table (lower case) a line's text carries as tokens of their own: its
 * values (escapes decoded), but not the names a record gives itself and others (ids, references,
 * identifiers' values: `Patient/later-9Nu0` names a patient, it codes nothing); of a line that is
 * no JSON (`json` undefined), all of its text.
 */
function codesMentioned(text: string, json: unknown): Set<string> {
  const mentioned = new Set<string>();
  const scan = (t: string) => {
    for (const m of t.matchAll(CODE_MENTION)) mentioned.add(m[0].toLowerCase());
  };
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
  return mentioned;
}

/**
 * The objection types whose *registration* code an entry carries anywhere — `code`, but also
 * `valueCodeableConcept`, `component`, `category`, `method`, `code.text`, a note, a focus's
 * display… (finding 2 of an outsider's probe, 2026-12-07: a withdrawal carrying the objection code
 * elsewhere was applied as a plain withdrawal, and the extractor stripped the evidence).
 */
export function registrationsCarried(r: Json): Set<ObjectionType> {
  const types = new Set<ObjectionType>();
  for (const c of codesMentioned('', r)) {
    const o = CODE_OF.get(c)!;
    if (o.action === 'register') types.add(o.type);
  }
  return types;
}

/** The registration code written for a type (the extractor: registrationsInCode). */
const REGISTRATION_CODING = new Map(
  (['type1', 'type2'] as const).map((t) => {
    const c = OBJECTION_CODES.find((x) => x.type === t && x.action === 'register')!;
    return [t, { system: c.system, code: c.code }];
  }),
);

/**
 * The extractor, for an objection entry it writes reduced to the specification (`stripped`, whose
 * `code` the centre reads): a registration that `original` carries outside `code`, of a type the
 * reduced `code` only withdraws, is added to `code.coding` — so the centre reads the registration
 * as the extractor did (in one entry the registration wins), never a plain withdrawal. Returns the
 * types so added.
 */
export function registrationsInCode(original: Json, stripped: Json): ObjectionType[] {
  const carried = registrationsCarried(original);
  const added = objectionEntriesOf(stripped.code)
    .filter((e) => e.action === 'withdraw' && carried.has(e.type))
    .map((e) => e.type);
  if (!added.length || !isObject(stripped.code)) return [];
  const coding = Array.isArray(stripped.code.coding) ? stripped.code.coding : [];
  stripped.code.coding = [...coding, ...added.map((t) => ({ ...REGISTRATION_CODING.get(t)! }))];
  return added;
}

export const NAMES_NO_PATIENT = 'an objection that names no patient';
export const TWO_PATIENTS = 'a withdrawal naming two patients (not applied)';
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
 * objection code in any coding of `code`. Anything else is `none`. `line`: the resource as sent,
 * where `r` is it reduced to the specification (`registrationsCarried` looks at all of it).
 */
export function readObjection(r: Json, received: string, line: Json = r): ObjectionReading {
  const type = r.resourceType;
  if (typeof type !== 'string' || !OBJECTION_DATE_FIELDS[type]) return { kind: 'none' };
  const read = objectionEntriesOf(r.code);
  if (!read.length) return { kind: 'none' };
  // A withdrawal that carries its type's registration code anywhere else in the entry is that
  // registration (in one entry the registration wins; fail closed): never a plain withdrawal.
  const carried = registrationsCarried(line);
  const coded = read.map((e) => (carried.has(e.type) ? { ...e, action: 'register' as const } : e));
  const conflict = read
    .filter((e) => e.action === 'withdraw' && carried.has(e.type))
    .map(
      (e) =>
        `${type}: a ${e.type} withdrawal that also carries the ${e.type} objection code, read as the objection`,
    );
  // An entry recorded in error (its status; a Condition's verificationStatus) withdraws nothing: it
  // was never a valid statement (an attack on the day's change: a withdrawal marked in error lifted
  // the objection and released the patient). Its registrations still count (fail closed).
  const entries = notAStatement(r) ? coded.filter((e) => e.action === 'register') : coded;
  if (!entries.length) return { kind: 'rejected', reason: withdrawalInError(type) };
  const registers = entries.some((e) => e.action === 'register');
  // Whom it names, from the entry as sent: the strip keeps one NHS number of a subject, and a Type 1
  // objection naming two was recorded for the first alone (a review, 2026-12-07).
  const subjects = subjectsOf(line.subject);
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
  // Of an entry registering one type and withdrawing the other, the entry has one instant, read as
  // the registration's (its latest). The withdrawal is kept only where its own reading (its
  // earliest) is that same instant: a date to the second. Read at a registration's end of day, year
  // or the time received, a withdrawal dated earlier would lift objections made in between and
  // release the patient (a review, 2026-12-07): only the registration is kept then.
  const mixed = registers && entries.some((e) => e.action === 'withdraw');
  const w = mixed ? objectionDate(r, 'withdraw', received) : undefined;
  const withdrawalDropped = w !== undefined && ('error' in w || w.instant !== d.instant);
  // A withdrawal naming two patients (two references, or no reference and two NHS numbers) could
  // release someone who never withdrew: not applied, by the centre as by the extractor.
  const named = subjects.ids.length || subjects.nhsNumbers.length;
  const twoNamed = subjects.ids.length > 1 || (!subjects.ids.length && named > 1);
  if (twoNamed && !registers) return { kind: 'rejected', reason: `${type}.subject: ${TWO_PATIENTS}` };
  const kept = withdrawalDropped || twoNamed ? entries.filter((e) => e.action === 'register') : entries;
  const dropped = withdrawalDropped
    ? `${type}: a withdrawal in an entry that also registers an objection, not dated to the second (not applied)`
    : twoNamed && kept.length < entries.length
      ? `${type}.subject: ${TWO_PATIENTS}`
      : undefined;
  const warning = [...conflict, d.warning, dropped].filter(Boolean).join('; ');
  return {
    kind: 'objection',
    entries: kept,
    subjects,
    instant: d.instant,
    date: d.date,
    ...(warning && { warning }),
  };
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
