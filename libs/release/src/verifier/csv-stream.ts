/**
 * A streaming CSV reader (RFC 4180, as PostgreSQL's `COPY … CSV` and `csvLine` write it), for the
 * release verifier: text goes in by chunks, each record comes out to a callback, and memory holds
 * one record at a time whatever the file's size. Records are split into fields only when the
 * reader asks (`fieldsOf`): most rows of a file repeat their person's columns and need one pattern
 * test over the line, not a split. Written for the verifier alone (it shares no code
 * with the writers it checks).
 */
export class CsvReader {
  private rest = '';
  /** A record whose quoted field holds a newline, waiting for its end. */
  private pending: string | undefined;

  /** Per screen: whether it matched the text the records now coming out were cut from. */
  private hits: boolean[];
  private readonly all: boolean[];

  /**
   * `onRecord` gets each record's text, whether it holds quotes (`fieldsOf` splits it when needed),
   * and per pattern of `screens` whether it may match the record: each is tested once over a whole
   * chunk, and a record of a chunk it does not match cannot match it either (a match inside a line
   * is a match inside the chunk, a newline bounding both). Quoted records always get `true`.
   */
  constructor(
    private readonly onRecord: (record: string, quoted: boolean, maybe: readonly boolean[]) => void,
    private readonly screens: readonly RegExp[] = [],
  ) {
    if (screens.some((r) => r.global || r.sticky)) throw new Error('a screen must not keep state');
    this.all = screens.map(() => true);
    this.hits = this.all;
  }

  write(text: string): void {
    const buf = this.rest + text;
    this.hits = this.screens.map((r) => r.test(buf));
    let pos = 0;
    for (;;) {
      const nl = buf.indexOf('\n', pos);
      if (nl < 0) break;
      this.line(buf.slice(pos, nl));
      pos = nl + 1;
    }
    this.rest = buf.slice(pos);
  }

  /** The last record (a file need not end with a newline); throws on an unterminated quote. */
  end(): void {
    if (this.rest.length) this.line(this.rest);
    this.rest = '';
    if (this.pending !== undefined) throw new Error('unterminated quoted field at the end of the file');
  }

  private line(line: string): void {
    if (this.pending === undefined && !line.includes('"')) {
      this.onRecord(line, false, this.hits);
      return;
    }
    const acc = this.pending === undefined ? line : `${this.pending}\n${line}`;
    if (quotes(acc) % 2 === 1) {
      this.pending = acc; // the newline is inside a quoted field
      return;
    }
    this.pending = undefined;
    this.onRecord(acc, true, this.all);
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
