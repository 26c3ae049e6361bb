import { OBJECTION_DATE_FIELDS, TIME_RECEIVED, type ObjectionReading } from './objection-entry';
import { dateElementValid, R4_CODE, R4_ID, r4Problem, statusProblem } from './r4-types';

export { R4_STATUS_CODES } from './r4-types';

/**
 * What the extractor writes is FHIR R4 (issue #23; SPEC §2: "every clinical resource keeps the
 * elements FHIR R4 requires … in the extract"), applied to each resource after `stripToSpec`
 * (the rules themselves: r4-types.ts):
 * - FHIR JSON has no empty objects, arrays or strings (ele-1): what stripping emptied goes;
 * - `status` (1..1, a required binding) on Observation, Procedure and MedicationStatement: a
 *   status that is missing, or not a code of the resource's value set, is written as `unknown`
 *   (a member of all three: "the authoring/source system does not know which of the status values
 *   currently applies"), so the extract says it was not known rather than guess;
 * - any other required element missing (Condition/Procedure/MedicationStatement `subject`,
 *   MedicationStatement `medication[x]`, Observation `code`), or an element kept that is not of its
 *   R4 type (a dateTime without seconds or offset, a gender outside its value set, …): the resource
 *   is not written, and its line is reported with the reason;
 * - objection entries and Type 1 markers are **always written** (SPEC §2, fail closed): what makes
 *   one not R4 is mended in a way that keeps how the centre reads it (`mendObjection`).
 */

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

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

export type R4Outcome = { ok: true; resource: Json; statusUnknown: boolean } | { ok: false; reason: string };

/**
 * The resource as the extract writes it, or why it cannot be written. `carried`: an objection
 * entry (how `readObjection` read it) or a Type 1 marker — written whatever it lacks.
 */
export function completeForR4(input: Json, carried?: ObjectionReading | 'marker'): R4Outcome {
  const r = (pruned(input) ?? {}) as Json;
  if (carried && carried !== 'marker') mendObjection(r, carried);
  let statusUnknown = false;
  if (statusProblem(r.resourceType as string, r.status)) {
    r.status = 'unknown';
    statusUnknown = true;
  }
  const problem = carried ? undefined : r4Problem(r);
  return problem ? { ok: false, reason: problem } : { ok: true, resource: r, statusUnknown };
}

/**
 * Makes an objection entry R4 without changing what the centre reads from it (`readObjection`
 * there reads the written line again):
 * - an `id` that is not an R4 id goes (the centre keeps none for an objection);
 * - codes lose surrounding spaces (the reader trims them); a coding that still is not an R4 Coding
 *   goes (it is no objection coding: those are codes of the table under exact system URIs);
 * - dates: when the entry has one date element and it is of its R4 type, it stays as it is (a date
 *   in the future or before 1895 is one). Otherwise — two values of one choice element
 *   (`effectiveDateTime` and `effectiveInstant` is not R4), or two dates that disagree — all of them
 *   go, and where the reading found a date (a registration's latest, a withdrawal's earliest:
 *   objection-date.ts) the entry gets that instant (UTC, to the second) as its first date element:
 *   read back the same. Where it found none (the time received, or a withdrawal not applied), no
 *   date is written, which the centre reads the same way — never an element the reading did not use;
 * - a `valueQuantity` that is not an R4 Quantity goes (never read for an objection).
 */
function mendObjection(r: Json, o: ObjectionReading): void {
  if (r.id !== undefined && !(typeof r.id === 'string' && R4_ID.test(r.id))) delete r.id;
  if (isObject(r.code) && Array.isArray(r.code.coding)) {
    r.code.coding = r.code.coding
      .filter(isObject)
      .map((c) => (typeof c.code === 'string' ? { ...c, code: c.code.trim() } : c))
      .filter((c) => typeof c.code === 'string' && R4_CODE.test(c.code) && typeof c.system === 'string');
  }
  const fields = OBJECTION_DATE_FIELDS[r.resourceType as string] ?? [];
  const present = fields.filter((f) => r[f] !== undefined);
  if (present.length > 1 || !present.every((f) => dateElementValid(f, r[f]))) {
    for (const f of present) delete r[f];
    if (o.kind === 'objection' && !o.warning?.endsWith(TIME_RECEIVED)) r[fields[0]] = o.instant;
  }
  const q = r.valueQuantity;
  if (q !== undefined && !(isObject(q) && (q.value === undefined || typeof q.value === 'number')))
    delete r.valueQuantity;
  if (isObject(r.subject) && r.subject.reference !== undefined && typeof r.subject.reference !== 'string')
    delete r.subject.reference;
}
