/**
 * What FHIR R4 requires of the resources an extract carries (issue #23; SPEC §2: "every clinical
 * resource keeps the elements FHIR R4 requires"), applied by the extractor to each resource it
 * writes, after `stripToSpec`:
 * - FHIR JSON has no empty objects, arrays or strings (ele-1): what stripping emptied goes;
 * - `status` (1..1, a required binding) on Observation, Procedure and MedicationStatement: a
 *   status that is missing, or not a code of the resource's value set, is written as `unknown`
 *   (a member of all three), so the extract says it was not known rather than guess;
 * - the other elements of cardinality 1..1 (Condition/Procedure/MedicationStatement `subject`,
 *   MedicationStatement `medication[x]`, Observation `code`) cannot be made up: a resource without
 *   one is not written (and the centre could not have used it: it has no patient or no code).
 */

type Json = Record<string, unknown>;

/** The required value sets of `status` (hl7.org/fhir/R4). */
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

const REQUIRED: Record<string, readonly string[]> = {
  Condition: ['subject'],
  Procedure: ['subject'],
  MedicationStatement: ['subject', 'medicationCodeableConcept'],
  Observation: ['code'],
};

/** Removes empty objects, arrays and strings, deepest first; undefined when nothing is left. */
function pruned(v: unknown): unknown {
  if (Array.isArray(v)) {
    const items = v.map(pruned).filter((x) => x !== undefined);
    return items.length ? items : undefined;
  }
  if (typeof v === 'object' && v !== null) {
    const out: Json = {};
    for (const [k, x] of Object.entries(v)) {
      const p = pruned(x);
      if (p !== undefined) out[k] = p;
    }
    return Object.keys(out).length ? out : undefined;
  }
  return v === '' ? undefined : v;
}

export type R4Outcome = { ok: true; resource: Json; statusUnknown: boolean } | { ok: false; missing: string };

/** The resource as the extract writes it, or the required element it lacks. */
export function completeForR4(input: Json): R4Outcome {
  const r = (pruned(input) ?? {}) as Json;
  const type = r.resourceType as string;
  for (const element of REQUIRED[type] ?? []) {
    const v = r[element];
    // A CodeableConcept needs a coding here (its text is free text, stripped); a subject, a patient.
    const missing =
      v === undefined ||
      (element !== 'subject' && !Array.isArray((v as Json).coding)) ||
      (element === 'subject' && (v as Json).reference === undefined && (v as Json).identifier === undefined);
    if (missing) return { ok: false, missing: `${type}.${element}` };
  }
  let statusUnknown = false;
  const codes = R4_STATUS_CODES[type];
  if (codes && !(typeof r.status === 'string' && codes.includes(r.status))) {
    r.status = 'unknown';
    statusUnknown = true;
  }
  return { ok: true, resource: r, statusUnknown };
}
