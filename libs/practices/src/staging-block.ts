import { EventRow, ObjectionRow, parseExtractLine, PatientRow, retractedWarning } from './fhir';
import { CLINICAL_TYPES, type DroppedFields, type LineDropped } from './fhir-spec';
import { LineReader } from './ndjson-lines';
import { normaliseNhsNumber } from '@custodian/core/nhs-number';
import { mayCarryObjectionCode, patientNhsNumbers } from './objection-entry';

/** A stored resource type's FHIR name (`condition` → `Condition`). */
const FHIR_TYPE = Object.fromEntries(Object.entries(CLINICAL_TYPES).map(([name, t]) => [t, name]));

/**
 * One block of whole NDJSON lines → rows of the intake's staging table (COPY text format), with
 * what was refused and dropped. Pure and self-contained: it runs on the request's thread and on
 * the intake's parse thread (staging-worker.ts), so it imports nothing heavier than `fhir.ts`.
 */

export const MAX_LINE_BYTES = 1024 * 1024;

/** How a line over MAX_LINE_BYTES is refused, wherever it is noticed. */
export const tooLong = (line: number) => ({ line, reason: `line longer than ${MAX_LINE_BYTES} bytes` });
/**
 * A line over MAX_LINE_BYTES whose bytes carry an objection code (or a JSON escape that may hide
 * one), seen as they were dropped: it cannot be read, and it may be an objection, so the whole
 * extract is refused (`unresolved`). It was refused alone and the objector stored and released (a
 * new user's tryout, 2026-12-07).
 */
export const tooLongObjection = (line: number) => ({
  line,
  reason: `line longer than ${MAX_LINE_BYTES} bytes, carrying an objection code: it cannot be read, and may be an objection`,
});
/** What a dropped line's bytes are watched for (`tooLongObjection`). */
export const watchObjection = mayCarryObjectionCode;

/**
 * `obj_at`: an objection entry's instant (UTC, to the second), as the objection reader reads it.
 * `dropped`: what the line lost (`LineDropped`, JSON), on its first row only; NULL for most.
 */
export const STAGING_COLUMNS =
  'line, kind, id, subject, nhs_number, birth_date, sex, postcode, ethnicity, resource_type, code_system, code, event_date, value, obj_type, obj_action, obj_at, shared_key, dropped';

const droppedValue = (r: LineDropped) => (r.dropped ? copyValue(JSON.stringify(r.dropped)) : '\\N');

/** COPY text format: NULL is \N; backslash, tab, newline and carriage return escaped. */
export function copyValue(v: string | null): string {
  if (v === null) return '\\N';
  if (!NEEDS_ESCAPE.test(v)) return v;
  return v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}
const NEEDS_ESCAPE = /[\\\t\n\r]/;

/** One staging row (COPY text, STAGING_COLUMNS in order) for a line that mapped to a row. */
function stagingRow(n: number, r: (PatientRow | EventRow | ObjectionRow) & LineDropped): string {
  const v = copyValue;
  switch (r.kind) {
    case 'patient':
      return `${n}\tP\t${v(r.id)}\t\\N\t${v(r.nhsNumber)}\t${v(r.birthDate)}\t${v(r.sex)}\t${v(r.postcode)}\t${v(r.ethnicity)}\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t${r.sharedKey ? 't' : '\\N'}\t${droppedValue(r)}\n`;
    case 'event':
      return `${n}\t${r.retract ? 'R' : 'E'}\t${v(r.id)}\t${v(r.subject)}\t\\N\t\\N\t\\N\t\\N\t\\N\t${v(r.resourceType)}\t${v(r.codeSystem)}\t${v(r.code)}\t${v(r.date)}\t${v(r.value)}\t\\N\t\\N\t\\N\t\\N\t${droppedValue(r)}\n`;
    case 'objection':
      return objectionRows(n, r);
  }
}

/**
 * An objection entry's rows: one per meaning and patient named — by local id (`subject`) or by NHS
 * number (`nhs_number`). A registration applies to everyone it names (fail closed); a withdrawal
 * naming a Patient by reference applies to that Patient only, by NHS number only when it has no
 * reference (should the two disagree, withdrawing for both could release the wrong patient). The
 * NHS numbers a withdrawal names beside its reference ride on the reference's rows: the merge
 * refuses the withdrawal when one is not the referenced Patient's (two persons, as the extractor
 * reads it: intake/subjects.ts).
 */
function objectionRows(n: number, r: ObjectionRow & LineDropped): string {
  const v = copyValue;
  let rows = '';
  let dropped = droppedValue(r);
  for (const e of r.entries) {
    const ids = r.subjects.ids;
    const numbers = r.subjects.nhsNumbers;
    const nhs = e.action === 'register' || !ids.length ? numbers : [];
    const beside: (string | null)[] = e.action === 'withdraw' && numbers.length ? numbers : [null];
    const tail = `\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t${v(r.date)}\t\\N\t${v(e.type)}\t${v(e.action)}\t${v(r.instant)}\t\\N\t`;
    for (const id of ids) {
      for (const x of beside) {
        rows += `${n}\tO\t${v(r.id)}\t${v(id)}\t${v(x)}${tail}${dropped}\n`;
        dropped = '\\N';
      }
    }
    for (const x of nhs) {
      rows += `${n}\tO\t${v(r.id)}\t\\N\t${v(x)}${tail}${dropped}\n`;
      dropped = '\\N';
    }
  }
  return rows;
}

/**
 * `N` rows: who a Patient line's id names, for resolving objections only (intake/subjects.ts) —
 * every valid NHS number of a Patient line the intake did not store (a future birth date, an unknown
 * gender, an identifier written as one object: the patient's objection named them by reference and
 * was refused as naming nobody, and what another practice held of them was released: probe-26,
 * review-26), and a stored line's numbers beside the one it is stored under (the extractor reads a
 * record's every number as that person's). Read from the line as the intake parsed it (`onPatient`):
 * a second reading of its text missed what JSON escapes (`\/`, `\u0050atient`).
 */
function identityRows(n: number, patient: Record<string, unknown>, stored?: string): string {
  const read = typeof patient.id === 'number' ? String(patient.id) : patient.id;
  if (typeof read !== 'string' || !read || read.length > 64) return '';
  // PostgreSQL's text takes no NUL: such an id (a refused line's) is staged with U+FFFD in its place,
  // its numbers kept for objections (a NUL made the whole upload fail with a 500: review-31).
  const id = read.split(String.fromCharCode(0)).join('\uFFFD');
  const tail = '\t\\N'.repeat(14);
  let rows = '';
  for (const raw of patientNhsNumbers(patient)) {
    const nhs = normaliseNhsNumber(raw);
    if (nhs && nhs !== stored) rows += `${n}\tN\t${copyValue(id)}\t\\N\t${nhs}${tail}\n`;
  }
  // A Patient read, with no valid NHS number: its id still names a Patient that was found (an
  // objection on it is refused as a line, not the whole extract: review-17 O2).
  if (!rows && stored === undefined) rows = `${n}\tN\t${copyValue(id)}\t\\N\t\\N${tail}\n`;
  return rows;
}

export interface BlockResult {
  /** Staging rows, COPY text. */
  rows: string;
  rejected: { line: number; reason: string }[];
  /** Lines kept, with how an odd value was read (an objection's odd date). */
  warnings: { line: number; reason: string }[];
  /** Objections that name no patient: the extract must be refused (fail closed). */
  unresolved: { line: number; reason: string }[];
  unsupported: number;
  /** Clinical lines recorded in error or of what did not happen: staged as retractions (`R`). */
  retracted: number;
  byField: DroppedFields;
}

/**
 * Parses `bytes`, whole lines numbered from `firstLine` (the last may lack its newline only at the
 * end of the stream). A line longer than MAX_LINE_BYTES is refused, as everywhere in the intake.
 */
export function parseBlock(
  bytes: Uint8Array,
  firstLine: number,
  ods: string,
  today: string,
  received?: string,
): BlockResult {
  const out: BlockResult = {
    rows: '',
    rejected: [],
    warnings: [],
    unresolved: [],
    unsupported: 0,
    retracted: 0,
    byField: Object.create(null),
  };
  const reader = new LineReader(
    MAX_LINE_BYTES,
    (n, text, watched) => {
      if (text === null) {
        if (watched) out.unresolved.push(tooLongObjection(n));
        else out.rejected.push(tooLong(n));
        return;
      }
      let patient: Record<string, unknown> | undefined;
      const r = parseExtractLine(text, ods, today, out.byField, received, (p) => (patient = p));
      // A Patient line's numbers, for objections (stored under the first; every one when refused).
      if (patient) out.rows += identityRows(n, patient, r.kind === 'patient' ? r.nhsNumber : undefined);
      switch (r.kind) {
        case 'blank':
          return;
        case 'unsupported':
          out.unsupported++;
          return;
        case 'rejected':
          out.rejected.push({ line: n, reason: r.reason });
          return;
        case 'unresolved':
          out.unresolved.push({ line: n, reason: r.reason });
          return;
        case 'objection':
          for (const reason of r.warnings) out.warnings.push({ line: n, reason });
          out.rows += stagingRow(n, r);
          return;
        case 'event':
          if (r.retract) {
            out.retracted++;
            out.warnings.push({
              line: n,
              reason: `${FHIR_TYPE[r.resourceType]}: ${retractedWarning(r.retract)}`,
            });
          }
          out.rows += stagingRow(n, r);
          return;
        default:
          out.rows += stagingRow(n, r);
      }
    },
    firstLine,
    watchObjection,
  );
  reader.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  reader.end();
  return out;
}
