import { Transform, TransformCallback } from 'node:stream';
import { DroppedFields, EventRow, ObjectionRow, parseExtractLine, PatientRow } from './fhir';
import { LineReader } from './ndjson-lines';

export const MAX_LINE_BYTES = 1024 * 1024;

/** COPY text format: NULL is \N; backslash, tab, newline and carriage return escaped. */
export function copyValue(v: string | null): string {
  if (v === null) return '\\N';
  if (!NEEDS_ESCAPE.test(v)) return v;
  return v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}
const NEEDS_ESCAPE = /[\\\t\n\r]/;

export interface StreamStats {
  lines: number;
  rejected: { line: number; reason: string }[];
  unsupported: number;
  byField: DroppedFields;
}

export const STAGING_COLUMNS =
  'line, kind, id, subject, nhs_number, birth_date, sex, postcode, ethnicity, resource_type, code_system, code, event_date, value, obj_type, obj_action';

/** One staging row (COPY text, STAGING_COLUMNS in order) for a line that mapped to a row. */
function stagingRow(n: number, r: PatientRow | EventRow | ObjectionRow): string {
  const v = copyValue;
  switch (r.kind) {
    case 'patient':
      return `${n}\tP\t${v(r.id)}\t\\N\t${v(r.nhsNumber)}\t${v(r.birthDate)}\t${v(r.sex)}\t${v(r.postcode)}\t${v(r.ethnicity)}\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\n`;
    case 'event':
      return `${n}\tE\t${v(r.id)}\t${v(r.subject)}\t\\N\t\\N\t\\N\t\\N\t\\N\t${v(r.resourceType)}\t${v(r.codeSystem)}\t${v(r.code)}\t${v(r.date)}\t${v(r.value)}\t\\N\t\\N\n`;
    case 'objection':
      return `${n}\tO\t${v(r.id)}\t${v(r.subject)}\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t${v(r.date)}\t\\N\t${v(r.objection.type)}\t${v(r.objection.action)}\n`;
  }
}

/**
 * Turns an NDJSON byte stream into rows of the staging table (COPY text format). Patient data goes
 * straight on to PostgreSQL, one write per ~64 KiB; only counts and rejected line numbers stay in
 * memory. Lines are split here (`LineReader`) rather than by a stream of line objects in front:
 * this runs for every line of every extract, and an object-mode stream costs per line.
 */
export class StagingRows extends Transform {
  private batch = '';
  private readonly reader: LineReader;

  constructor(ods: string, today: string, stats: StreamStats) {
    super();
    this.reader = new LineReader(MAX_LINE_BYTES, (n, text) => {
      stats.lines = n;
      if (text === null) {
        stats.rejected.push({ line: n, reason: `line longer than ${MAX_LINE_BYTES} bytes` });
        return;
      }
      const r = parseExtractLine(text, ods, today, stats.byField);
      switch (r.kind) {
        case 'blank':
          return;
        case 'unsupported':
          stats.unsupported++;
          return;
        case 'rejected':
          stats.rejected.push({ line: n, reason: r.reason });
          return;
        default:
          this.batch += stagingRow(n, r);
      }
    });
  }

  override _transform(chunk: Buffer | string, _enc: BufferEncoding, done: TransformCallback): void {
    this.reader.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    if (this.batch.length < 65_536) return done();
    const out = this.batch;
    this.batch = '';
    done(null, out);
  }

  override _flush(done: TransformCallback): void {
    this.reader.end();
    done(null, this.batch || undefined);
  }
}
