/**
 * A streaming CSV reader (RFC 4180, as PostgreSQL's `COPY … CSV` and `csvLine` write it), for the
 * release verifier: bytes go in by chunks, each record comes out to a callback, and memory holds
 * one record at a time whatever the file's size. Records are split into fields only when the
 * reader asks (`fieldsOf`): most rows of a file repeat their person's columns and need one pattern
 * test over the line, not a split. Written for the verifier alone (it shares no code
 * with the writers it checks).
 */

/**
 * A line read as bytes, before it is decoded: `buf[from, to)` (no newline), the record's index, and
 * the chunk's screens. Returns whether it took the line; a line it leaves is decoded and goes to
 * the record callback. Offered only lines without a quote, outside a quoted record.
 */
export type FastLane = (
  buf: Buffer,
  from: number,
  to: number,
  index: number,
  maybe: readonly boolean[],
) => boolean;

const EMPTY = Buffer.alloc(0);
const NEWLINE = 0x0a;
const QUOTE = 0x22;

export class CsvReader {
  private rest: Buffer = EMPTY;
  /** Chunks after `rest` that hold no newline (copies). */
  private parts: Buffer[] = [];
  /** A record whose quoted field holds a newline, waiting for its end. */
  private pending: string | undefined;
  private pendingQuotes = 0;
  /** Records read so far: the next one's index. */
  records = 0;

  /** Per screen: whether it matched the text the records now coming out were cut from. */
  private hits: boolean[];
  private readonly all: boolean[];

  /**
   * `onRecord` gets each record's text, whether it holds quotes (`fieldsOf` splits it when needed),
   * per pattern of `screens` whether it may match the record (each is tested once over a whole
   * chunk, and a record of a chunk it does not match cannot match it either: a match inside a line
   * is a match inside the chunk, a newline bounding both; quoted records always get `true`), and
   * its index. `fast` may take lines before they are decoded (see `FastLane`).
   *
   * Lines are cut at newline bytes (never part of a UTF-8 sequence) and decoded one by one. The
   * screens run over a chunk's bytes as Latin-1 text, so a screen must be plain ASCII classes and
   * characters with no flags: every non-ASCII byte is then a character no screen names, as is
   * every non-ASCII character of the UTF-8 text (`verifier-rules.spec.ts` holds both to the same answers).
   */
  constructor(
    private readonly onRecord: (
      record: string,
      quoted: boolean,
      maybe: readonly boolean[],
      index: number,
    ) => void,
    private readonly screens: readonly RegExp[] = [],
    private readonly fast?: FastLane,
  ) {
    if (screens.some((r) => r.flags !== '')) throw new Error('a screen must have no flags');
    this.all = screens.map(() => true);
    this.hits = this.all;
  }

  write(chunk: Uint8Array): void {
    // A chunk without a newline only grows the unfinished line: kept as it is, joined once a newline
    // comes (joining, screening and searching the whole line at each chunk took time quadratic in
    // its length: 8.8 s for a line of 32 MiB).
    if (chunk.indexOf(NEWLINE) < 0) {
      this.parts.push(Buffer.from(chunk));
      return;
    }
    const buf =
      this.rest.length || this.parts.length
        ? Buffer.concat([this.rest, ...this.parts, chunk])
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.parts = [];
    if (!this.fast) {
      this.text(buf);
      return;
    }
    if (this.screens.length) {
      const text = buf.toString('latin1');
      this.hits = this.screens.map((r) => r.test(text));
    }
    let pos = 0;
    let quote = buf.indexOf(QUOTE);
    for (;;) {
      const nl = buf.indexOf(NEWLINE, pos);
      if (nl < 0) break;
      if (quote >= 0 && quote < pos) quote = buf.indexOf(QUOTE, pos);
      if (
        this.fast &&
        this.pending === undefined &&
        !(quote >= 0 && quote < nl) &&
        this.fast(buf, pos, nl, this.records, this.hits)
      )
        this.records++;
      else this.line(buf.toString('utf8', pos, nl));
      pos = nl + 1;
    }
    // A copy: a view would keep the whole chunk alive.
    this.rest = pos < buf.length ? Buffer.from(buf.subarray(pos)) : EMPTY;
  }

  /**
   * Without a fast lane: the complete lines decoded at once and cut as text (a line decoded on its
   * own costs a call each), screened as text.
   */
  private text(buf: Buffer): void {
    const end = buf.lastIndexOf(NEWLINE) + 1;
    const text = buf.toString('utf8', 0, end);
    this.hits = this.screens.map((r) => r.test(text));
    let pos = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', pos)) {
      this.line(text.slice(pos, nl));
      pos = nl + 1;
    }
    // A copy: a view would keep the whole chunk alive.
    this.rest = end < buf.length ? Buffer.from(buf.subarray(end)) : EMPTY;
  }

  /** The last record (a file need not end with a newline); throws on an unterminated quote. */
  end(): void {
    const last = Buffer.concat([this.rest, ...this.parts]);
    if (last.length) this.line(last.toString('utf8'));
    this.rest = EMPTY;
    this.parts = [];
    if (this.pending !== undefined) throw new Error('unterminated quoted field at the end of the file');
  }

  private line(line: string): void {
    if (this.pending === undefined && !line.includes('"')) {
      this.onRecord(line, false, this.hits, this.records++);
      return;
    }
    // Quotes counted line by line (counting the whole record at each of its lines was quadratic).
    const count = (this.pending === undefined ? 0 : this.pendingQuotes) + quotes(line);
    const acc = this.pending === undefined ? line : `${this.pending}\n${line}`;
    if (count % 2 === 1) {
      this.pending = acc; // the newline is inside a quoted field
      this.pendingQuotes = count;
      return;
    }
    this.pending = undefined;
    this.onRecord(acc, true, this.all, this.records++);
  }
}

function quotes(s: string): number {
  let n = 0;
  for (let i = s.indexOf('"'); i >= 0; i = s.indexOf('"', i + 1)) n++;
  return n;
}

/** A record's fields. */
export const fieldsOf = (record: string, quoted: boolean): string[] =>
  quoted ? parseQuoted(record) : record.split(',');

/** One complete record holding quotes. */
export function parseQuoted(s: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (quoted) {
      if (ch === '"') {
        if (s[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(field);
      field = '';
    } else field += ch;
  }
  out.push(field);
  return out;
}
