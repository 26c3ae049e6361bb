import { Transform, type TransformCallback } from 'node:stream';

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
/** The most line endings held back at the end of what has arrived (CsvRecords.trailing). */
const MAX_HELD = 1024 * 1024;

/**
 * Passes a CSV upload's bytes through unchanged, noting the physical lines that end inside a quoted
 * field, so that PostgreSQL's COPY error — which names a physical line — can be told as the data row
 * a person counts (an outsider's probe: a valid row with a quoted newline made the next bad row
 * "data row 3" instead of 2). Quote parity is enough: a doubled quote `""` inside a field closes and
 * reopens it. The cost follows the quotes: a file without any is scanned for line ends only.
 *
 * Lines are counted as COPY counts them (`copyfromparse.c`): the file's line ending is the first
 * one outside quotes; in a file of LF endings each LF is a line, in a file of CR or CRLF endings
 * each CR — so a bare LF inside a quoted field of a CRLF file (Excel writes exactly that: rows end
 * in CRLF, a line break in a cell is LF) is no line (a review: such a file's rows were misnumbered).
 */
export class CsvRecords extends Transform {
  private inQuotes = false;
  /** The byte COPY counts lines by, once the first line ending outside quotes has said which. */
  private eol: number | undefined;
  /** Line ends seen so far (the physical line number, less one, of the position reached). */
  private lines = 0;
  /** The physical line numbers that a quoted line end ends (the record goes on on the next line). */
  private readonly continued: number[] = [];

  /**
   * Line endings at the end of what has arrived, outside quotes, held back until more data follows:
   * blank lines at the end of a file (an editor's or a spreadsheet's) are no records, and COPY read
   * each as a row of one empty field, the whole file refused as malformed (a new user's tryout,
   * 2026-12-07). At the end only the first goes on (the last record's own ending). Kept as the
   * chunks they came in (one concatenation a chunk made a run of blank lines quadratic: 128 MiB of
   * them held the event loop 79 s), and never more than MAX_HELD bytes: a longer run is passed on as
   * it is, and COPY refuses the file at its first blank line, as before (no editor writes that).
   */
  private trailing: Buffer[] = [];
  private held = 0;
  /**
   * Whether the upload looks like UTF-16 text (a UTF-16 byte order mark, or a NUL among its first
   * bytes, which no UTF-8 CSV holds): Excel's "Unicode text" and some exports write it, and COPY's
   * refusal read as a header that does not match (the message told nobody to save it as UTF-8).
   */
  utf16 = false;
  private seen = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.seen < 64) {
      const head = chunk.subarray(0, 64 - this.seen);
      if (
        (this.seen === 0 &&
          head.length >= 2 &&
          ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff))) ||
        head.includes(0)
      )
        this.utf16 = true;
      this.seen += head.length;
    }
    let pos = 0;
    if (this.eol === undefined) pos = this.findEol(chunk);
    if (this.eol !== undefined) this.count(chunk, pos);
    // Inside a quoted field, line endings are data.
    let end = chunk.length;
    if (!this.inQuotes) while (end > 0 && (chunk[end - 1] === LF || chunk[end - 1] === CR)) end--;
    if (end === 0) {
      this.hold(chunk);
      if (this.held <= MAX_HELD) return done();
      return done(null, this.release());
    }
    const out = this.held ? Buffer.concat([this.release(), chunk.subarray(0, end)]) : chunk.subarray(0, end);
    if (end < chunk.length) this.hold(Buffer.from(chunk.subarray(end)));
    done(null, out);
  }

  override _flush(done: TransformCallback): void {
    // The last record's own ending (CRLF, LF or CR), not the blank lines after it.
    const t = this.release().subarray(0, 2);
    done(null, t[0] === CR && t[1] === LF ? t : t.subarray(0, 1));
  }

  private hold(b: Buffer): void {
    this.trailing.push(b);
    this.held += b.length;
  }

  /** The held line endings, in one buffer; none held afterwards. */
  private release(): Buffer {
    const t = this.trailing;
    this.trailing = [];
    this.held = 0;
    return t.length === 1 ? t[0] : Buffer.concat(t);
  }

  /** Reads up to the first line ending outside quotes (quotes toggled on the way); where it ends. */
  private findEol(chunk: Buffer): number {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (c === QUOTE) this.inQuotes = !this.inQuotes;
      else if (!this.inQuotes && (c === LF || c === CR)) {
        this.eol = c;
        return i;
      }
    }
    return chunk.length;
  }

  private count(chunk: Buffer, from: number): void {
    const eol = this.eol!;
    let pos = from;
    for (;;) {
      const quote = chunk.indexOf(QUOTE, pos);
      const end = quote < 0 ? chunk.length : quote;
      for (let i = chunk.indexOf(eol, pos); i >= 0 && i < end; i = chunk.indexOf(eol, i + 1)) {
        this.lines++;
        if (this.inQuotes) this.continued.push(this.lines);
      }
      if (quote < 0) break;
      this.inQuotes = !this.inQuotes;
      pos = quote + 1;
    }
  }

  /** The record (1-based, the header included) that physical line `line` (1-based) belongs to. */
  recordOf(line: number): number {
    let joined = 0;
    for (const l of this.continued) if (l < line) joined++;
    return line - joined;
  }
}
