import { createHash } from 'node:crypto';
import { OBJECTION_DATE_FIELDS } from './objection-date';

type Json = Record<string, unknown>;

/**
 * What tells an extract's objection entry from another at the centre, once its instant cannot (a
 * registration read at the time received: SPEC §2, re-sending is idempotent "by patient + resource
 * id"): its resource type and id — FHIR ids are unique within a type only — and its date elements
 * as sent, so that an entry given a date, or another, is a new statement (review-21: an undated
 * registration re-dated today after a withdrawal, and a new objection on `Condition/42` beside an
 * old `Observation/42`, were taken for the old entry, and the objection stayed lifted). SHA-256,
 * hex: 64 characters, as `stg.id` and `objection_events.resource_id` hold.
 */
export function objectionKey(r: Json): string {
  const type = String(r.resourceType);
  const dates = (OBJECTION_DATE_FIELDS[type] ?? []).map((f) => [f, r[f] ?? null]);
  return createHash('sha256')
    .update(JSON.stringify([type, r.id, dates]))
    .digest('hex');
}
