// Single modules, not the libraries' indexes: this file is also loaded by the intake's parse thread
// (staging-worker.ts), which must stay small.
import { NHS_NUMBER_SYSTEM, OBJECTION_DATE_FIELDS } from './objection-entry';

/**
 * The extraction specification (SPEC §2) as code: which FHIR R4 resources and fields may leave a
 * practice (`stripToSpec`). Pure — shared by the centre's intake and the practice-side extractor;
 * fhir.ts maps what it keeps to the centre's rows.
 */
export const ODS_SYSTEM = 'https://fhir.nhs.uk/Id/ods-organization-code';
/**
 * Extension the extractor puts on a Patient who does not object when a Type 1 objector of the same
 * export has the same sex, date of birth and postcode (twins at one address; issue #26): nothing
 * about the objector leaves, and the centre counts one more person with this patient's step-6 key.
 */
export const LINKAGE_KEY_SHARED_URL =
  'https://custodian.example/fhir/StructureDefinition/linkage-key-shared-with-type1-objector';
export const ETHNIC_CATEGORY_URL =
  'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory';

export const CLINICAL_TYPES = {
  Condition: 'condition',
  Procedure: 'procedure',
  MedicationStatement: 'medication',
  Observation: 'observation',
} as const;
export type ClinicalType = keyof typeof CLINICAL_TYPES;
export const SPEC_RESOURCE_TYPES = new Set<string>(['Patient', ...Object.keys(CLINICAL_TYPES)]);

/** The date fields of each clinical resource, in order of preference. */
export const DATE_FIELDS: Record<ClinicalType, string[]> = {
  Condition: ['onsetDateTime', 'recordedDate'],
  Procedure: ['performedDateTime'],
  MedicationStatement: ['effectiveDateTime'],
  Observation: ['effectiveDateTime'],
};
export const CODE_FIELD: Record<ClinicalType, string> = {
  Condition: 'code',
  Procedure: 'code',
  MedicationStatement: 'medicationCodeableConcept',
  Observation: 'code',
};

export const SNOMED_CODE = /^\d{6,18}$/;
export const READ_CODE = /^[A-Za-z0-9]{1,5}\.{0,4}$/;

/**
 * An Observation's `valueQuantity.unit`: a UCUM-style unit code, never free text (SPEC §5; an
 * outsider's probe, 2026-12-07, finding 1: `mg Jane Doe LS6 2QB`, `{Jane Doe HIV pos}` and
 * `Smith 07700900123` reached a pseudonymised release). At most 20 characters of UCUM's grammar —
 * letters, digits, `% . / * ^ [ ] _ -` — no spaces and no `{…}` annotation (UCUM's free text), but
 * eGFR's `{1.73_m2}`; and each run of letters a unit atom (`UNIT_WORDS`: g, L, mol, m, s, U, IU, eq,
 * osm, Bq, Pa with a metric prefix; min, h, d, wk, mo, a, Cel, Hg, mmHg, pH, HPF, x of `x10^9/L`),
 * in any case as GP systems write them (`mmol/l`). So mg, mmol/L, kg/m2, mm[Hg], mmHg, %, 10*9/L,
 * x10^9/l, mL/min/{1.73_m2}, mL/min/1.73m2 pass; a word that is no unit (`cigs/day`, a name) does
 * not. A unit refused is dropped and counted (`valueQuantity.unit`), the value kept.
 */
/** FHIR R4 QuantityComparator: how a quantity's value is to be read. */
export const QUANTITY_COMPARATORS: readonly string[] = ['<', '<=', '>=', '>'];

export const UNIT = /^(?:[A-Za-z0-9%/.^*[\]_-]|\{1\.73_m2\}){1,20}$/;
const UNIT_PREFIXES = ['', 'k', 'd', 'c', 'm', 'u', 'mc', 'n', 'p', 'f'];
const UNIT_ATOMS = ['g', 'l', 'mol', 'm', 's', 'u', 'iu', 'eq', 'osm', 'bq', 'pa'];
export const UNIT_WORDS: ReadonlySet<string> = new Set([
  ...UNIT_PREFIXES.flatMap((p) => UNIT_ATOMS.map((a) => p + a)),
  ...[
    'min',
    'h',
    'hr',
    'd',
    'wk',
    'mo',
    'a',
    'yr',
    'cel',
    'degc',
    'degf',
    'hg',
    'mmhg',
    'ph',
    'hpf',
    'lpf',
    'x',
  ],
]);
export const isUnitCode = (u: unknown): u is string =>
  typeof u === 'string' &&
  u.length <= 20 &&
  UNIT.test(u) &&
  (u.replace('{1.73_m2}', '').match(/[A-Za-z]+/g) ?? []).every((w) => UNIT_WORDS.has(w.toLowerCase()));
export const DATE = /^(\d{4})-(\d{2})-(\d{2})(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

export type Json = Record<string, unknown>;
export type DroppedFields = Record<string, number>;

/**
 * What a stored line lost: its fields removed and elements ignored (`IGNORED_PREFIX`), set by
 * `parseExtractLine` (fhir.ts) where there are any. Staged with the line, so that a line the merge refuses
 * later (a repeated NHS number, an event whose Patient is not there) takes its counts back out of
 * the report (`intake/report.ts`).
 */
export interface LineDropped {
  dropped?: DroppedFields;
}

export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
export const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function drop(dropped: DroppedFields, path: string) {
  dropped[path] = (dropped[path] ?? 0) + 1;
}

/** A FHIR status code (`final`, `completed`, `entered-in-error`, …): lower-case letters and hyphens. */
const FHIR_STATUS_CODE = /^[a-z][a-z-]{0,31}$/;

/**
 * A key the report may name: an element name as FHIR writes them (a letter or `_`, then letters,
 * digits, `_`; at most 64). Any other key a line carries is counted as `UNREADABLE_FIELD`. The key is
 * the sender's text: one with a NUL made the report unstorable (PostgreSQL's jsonb refuses `\u0000`)
 * and the upload a 500, and a long one went into the report whole (review, 2026-12-07).
 */
const NAMEABLE_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
export const UNREADABLE_FIELD = '(a key that is no element name)';

/** Keeps only `allowed` keys of `obj`, counting every other key under `prefix`. */
function pick(obj: Json, allowed: readonly string[], dropped: DroppedFields, prefix: string): Json {
  const out: Json = {};
  // for…in rather than Object.entries: no array of pairs per object (this runs for every key of
  // every resource of an extract). A parsed JSON object has only own, enumerable keys.
  for (const k in obj) {
    if (allowed.includes(k)) out[k] = obj[k];
    else drop(dropped, NAMEABLE_KEY.test(k) ? (prefix ? prefix + k : k) : prefix + UNREADABLE_FIELD);
  }
  return out;
}

function stripCodeable(v: unknown, dropped: DroppedFields, prefix: string): Json | undefined {
  if (!isObject(v)) return undefined;
  const c = pick(v, ['coding'], dropped, `${prefix}.`);
  if (c.coding !== undefined) {
    // One Coding instead of a list is kept as a list of one: objection-entry.ts reads it so (an
    // objection must not be lost), and the extractor's output must say what it read.
    c.coding = (Array.isArray(c.coding) ? c.coding : [c.coding])
      .filter(isObject)
      .map((x) => pick(x, ['system', 'code'], dropped, `${prefix}.coding.`));
  }
  return c;
}

/** Whether a CodeableConcept kept any code. */
const hasCode = (v: unknown) =>
  isObject(v) && Array.isArray(v.coding) && v.coding.some((c) => isObject(c) && typeof c.code === 'string');

export interface Stripped {
  /** The resource reduced to the fields of the specification; undefined when its type is outside it. */
  resource?: Json;
  dropped: DroppedFields;
}

/**
 * Removes everything outside the extraction specification: names, telecom, address lines, free text,
 * notes, narrative, identifiers other than the NHS number, extensions other than ethnic category.
 * Every removed field is counted by its path (field names only — never values).
 */
export function stripToSpec(input: Json, dropped: DroppedFields = Object.create(null)): Stripped {
  // `dropped` has no prototype: field names such as `constructor` or `__proto__` are counted like
  // any other. A caller may pass its own running totals to count into.
  const type = input.resourceType;
  if (typeof type !== 'string' || !SPEC_RESOURCE_TYPES.has(type)) return { dropped };
  if (type === 'Patient') {
    const p = pick(
      input,
      [
        'resourceType',
        'id',
        'identifier',
        'birthDate',
        'gender',
        'address',
        'extension',
        'generalPractitioner',
      ],
      dropped,
      '',
    );
    if (p.identifier !== undefined) {
      const ids = asArray(p.identifier).filter(isObject);
      p.identifier = ids
        .filter((i) => i.system === NHS_NUMBER_SYSTEM)
        .map((i) => pick(i, ['system', 'value'], dropped, 'identifier.'));
      for (let n = ids.length - (p.identifier as unknown[]).length; n > 0; n--) drop(dropped, 'identifier');
    }
    if (p.address !== undefined) {
      p.address = asArray(p.address)
        .filter(isObject)
        .map((a) => pick(a, ['postalCode'], dropped, 'address.'))
        .filter((a) => a.postalCode !== undefined);
    }
    if (p.extension !== undefined) {
      const exts = asArray(p.extension).filter(isObject);
      p.extension = exts
        .filter((e) => e.url === ETHNIC_CATEGORY_URL || e.url === LINKAGE_KEY_SHARED_URL)
        .map((e) => {
          if (e.url === LINKAGE_KEY_SHARED_URL) return { url: e.url, valueBoolean: e.valueBoolean === true };
          const kept = pick(e, ['url', 'valueCodeableConcept'], dropped, 'extension.');
          kept.valueCodeableConcept = stripCodeable(
            kept.valueCodeableConcept,
            dropped,
            'extension.valueCodeableConcept',
          );
          return kept;
        })
        // An ethnic category with no coded value left is no Extension (R4 ext-1: a value[x] or
        // extensions); it went out as a bare `url` (probe 22), and goes as an extension dropped.
        .filter((e) => e.url !== ETHNIC_CATEGORY_URL || hasCode(e.valueCodeableConcept));
      for (let n = exts.length - (p.extension as unknown[]).length; n > 0; n--) drop(dropped, 'extension');
    }
    if (p.generalPractitioner !== undefined) {
      p.generalPractitioner = asArray(p.generalPractitioner)
        .filter(isObject)
        .map((g) => {
          const kept = pick(g, ['identifier'], dropped, 'generalPractitioner.');
          if (isObject(kept.identifier))
            kept.identifier = pick(
              kept.identifier,
              ['system', 'value'],
              dropped,
              'generalPractitioner.identifier.',
            );
          return kept;
        });
    }
    return { resource: p, dropped };
  }
  const t = type as ClinicalType;
  // `status` is an element FHIR R4 requires of Observation, Procedure and MedicationStatement
  // (SPEC §2: kept in the extract); a code, never free text: anything else is dropped and counted.
  // Condition has no `status` in R4 (an element R4 does not define is not FHIR): dropped and counted.
  const allowed = ['resourceType', 'id', 'subject', CODE_FIELD[t], ...DATE_FIELDS[t]];
  if (t !== 'Condition') allowed.push('status');
  if (t === 'Observation') allowed.push('valueQuantity');
  // An objection's date may be in any of these (objection-entry.ts).
  for (const f of OBJECTION_DATE_FIELDS[t] ?? []) if (!allowed.includes(f)) allowed.push(f);
  const r = pick(input, allowed, dropped, '');
  if (r.status !== undefined && !(typeof r.status === 'string' && FHIR_STATUS_CODE.test(r.status))) {
    delete r.status;
    drop(dropped, 'status');
  }
  if (isObject(r.subject)) {
    // The subject by reference and/or NHS number (objection-entry.ts); a display (a name) never.
    const subject = pick(r.subject, ['reference', 'identifier'], dropped, 'subject.');
    if (subject.identifier !== undefined) {
      // Reference.identifier is one Identifier (an array is tolerated, as objection-entry.ts does).
      const given = Array.isArray(subject.identifier) ? subject.identifier : [subject.identifier];
      const nhs = given.find((i): i is Json => isObject(i) && i.system === NHS_NUMBER_SYSTEM);
      if (nhs) subject.identifier = pick(nhs, ['system', 'value'], dropped, 'subject.identifier.');
      else {
        delete subject.identifier;
        drop(dropped, 'subject.identifier');
      }
    }
    r.subject = subject;
  }
  for (const f of ['effectivePeriod', 'onsetPeriod', 'performedPeriod']) {
    const period = r[f];
    if (isObject(period)) r[f] = pick(period, ['start', 'end'], dropped, `${f}.`);
  }
  if (r[CODE_FIELD[t]] !== undefined)
    r[CODE_FIELD[t]] = stripCodeable(r[CODE_FIELD[t]], dropped, CODE_FIELD[t]);
  if (isObject(r.valueQuantity)) {
    // `comparator` is an R4 modifier ("< 5" is not "5"): kept beside the value; one that is not an
    // R4 comparator leaves the value unreadable, so the quantity goes (probe 22: the extract wrote
    // "< 5 mmol/L" as "5 mmol/L", and the centre stored it so).
    r.valueQuantity = pick(r.valueQuantity, ['value', 'comparator', 'unit'], dropped, 'valueQuantity.');
    const q = r.valueQuantity as Json;
    if (q.comparator !== undefined && !QUANTITY_COMPARATORS.includes(q.comparator as string)) {
      delete r.valueQuantity;
      drop(dropped, 'valueQuantity');
    } else if (q.unit !== undefined && !isUnitCode(q.unit)) {
      delete q.unit;
      drop(dropped, 'valueQuantity.unit');
    }
  }
  return { resource: r, dropped };
}
