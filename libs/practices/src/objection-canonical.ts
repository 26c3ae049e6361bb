import { createHash } from 'node:crypto';
import { OBJECTION_CODES, objectionFor } from '@custodian/objections/objection-codes';
import { OBJECTION_DATE_FIELDS } from './objection-date';
import { NHS_NUMBER_SYSTEM, type ObjectionEntry, type ObjectionReading } from './objection-entry';
import { R4_ID, statusProblem } from './r4-types';

type Json = Record<string, unknown>;
type Read = Extract<ObjectionReading, { kind: 'objection' }>;

/** The source's status where it is R4 for the type (else none: the R4 step writes `unknown`). */
const statusOf = (type: string, status: unknown): string | undefined =>
  type === 'Condition' || statusProblem(type, status) ? undefined : (status as string);

/** The source's coding of the meaning (as the table writes it), else the table's first code for it. */
const codingOf = (e: ObjectionEntry, code: unknown) => {
  const codings = code && typeof code === 'object' ? (code as Json).coding : undefined;
  for (const c of Array.isArray(codings) ? codings : []) {
    const meaning =
      c && typeof c.system === 'string' && typeof c.code === 'string'
        ? objectionFor(c.system, c.code.trim())
        : undefined;
    if (meaning?.type === e.type && meaning.action === e.action)
      return { system: meaning.system, code: meaning.code };
  }
  const c = OBJECTION_CODES.find((x) => x.type === e.type && x.action === e.action)!;
  return { system: c.system, code: c.code };
};

/**
 * The objection entries the extractor writes for one it read (`o`, from `source` as the practice's
 * system exported it): written from the reading itself, not from the exported text reduced to the
 * specification, so that the centre reads exactly what the practice read — the same meanings, the
 * same patients, the same instant. Copying the reduced text lost what the reading had used (a
 * status that makes a withdrawal no valid statement, a date element emptied, the second NHS number
 * of a subject) or kept what it had not (a withdrawal the reading dropped), and the centre lifted
 * objections the practice kept (a review, 2026-12-07). One entry per meaning and patient:
 * - a registration names each patient the source named (each reference, each NHS number);
 * - a withdrawal names the one patient it applies to (the reference, else each of their NHS numbers);
 * - the date is the reading's instant (UTC, to the second) in the type's first date element; a
 *   registration read at the time received (`receivedAt`: no date, an odd one, one in the future,
 *   a day still running) is written without one, and the centre reads it at its own time received.
 *   Written at the extractor's time, it joined the centre's history again at every night's extract
 *   (a new instant each run); the centre adds such an entry once however often it is sent
 *   (`objection_events.at_received`, 2026-12-07), which before then made a re-sent file add it again.
 */
export function canonicalObjections(source: Json, o: Read, receivedAt?: string): Json[] {
  const type = source.resourceType as string;
  const dateFields = OBJECTION_DATE_FIELDS[type]!;
  const dateField = dateFields[0]!;
  const byReference = o.subjects.ids.map((id) => ({ reference: `Patient/${id}` }));
  const byNumber = o.subjects.nhsNumbers.map((value) => ({
    identifier: { system: NHS_NUMBER_SYSTEM, value },
  }));
  const atReceived = o.instant === receivedAt && o.entries.every((e) => e.action === 'register');
  const out: Json[] = [];
  for (const e of o.entries) {
    // A withdrawal names one reference, or every number of the one person it names (the caller
    // keeps none naming two): written for the first number only, a record of two numbers stayed an
    // objector under the second for good (review-28), while its registration had left for both.
    const subjects =
      e.action === 'register'
        ? [...byReference, ...byNumber]
        : byReference.length
          ? byReference.slice(0, 1)
          : byNumber;
    for (const subject of subjects) out.push({ resourceType: type, entry: e, subject });
  }
  // The source's id on the first entry; on the others, one made from it, the meaning and the
  // patient, by a hash (`${id}-2` collided with the export's own ids: review-17). The centre tells a
  // re-sent entry by its id (objection-key.ts): without one, each upload added the others again
  // and a patient they named could never withdraw (review-21).
  // A registration read at the time received leaves without a date, so its id carries the source's
  // date elements (hashed): the centre tells a re-sent entry from one the practice re-dated by its id
  // and dates, and the extract's lines of an undated entry and of the same entry dated today were
  // alike — re-dated after a withdrawal, it was taken for the old one and stayed lifted (review-22).
  // A source id that is not an R4 id (an underscore, past 64 characters) is written as one made
  // from it: without an id the centre cannot tell the entry sent again, and added it at every run
  // (review-23).
  const base =
    typeof source.id !== 'string' || !source.id
      ? undefined
      : R4_ID.test(source.id)
        ? source.id
        : `x${createHash('sha256').update(source.id).digest('hex').slice(0, 40)}`;
  const sourceDates = dateFields.map((f) => [f, source[f] ?? null]);
  const derived = (parts: unknown[]) =>
    `${base!.slice(0, 47)}-${createHash('sha256')
      .update(JSON.stringify([base, ...parts]))
      .digest('hex')
      .slice(0, 16)}`;
  const idOf = (i: number, entry: unknown, subject: unknown) =>
    atReceived ? derived([sourceDates, entry, subject]) : i === 0 ? base : derived([entry, subject]);
  return out.map(({ entry, subject }, i) => ({
    resourceType: type,
    ...(base && { id: idOf(i, entry, subject) }),
    ...(statusOf(type, source.status) && { status: statusOf(type, source.status) }),
    code: { coding: [codingOf(entry as ObjectionEntry, source.code)] },
    subject,
    ...(!atReceived && { [dateField]: o.instant }),
  }));
}
