import { Transform, type TransformCallback } from 'node:stream';

const QUOTE = 0x22;
const NEWLINE = 0x0a;

/**
 * Passes a CSV upload's bytes through unchanged, noting the physical lines that end inside a quoted
 * field, so that PostgreSQL's COPY error — which names a physical line — can be told as the data row
 * a person counts (an outsider's probe: a valid row with a quoted newline made the next bad row
 * "data row 3" instead of 2). Quote parity is enough: a doubled quote `""` inside a field closes and
 * reopens it. The cost follows the quotes: a file without any is scanned for newlines only.
 */
export class CsvRecords extends Transform {
  private inQuotes = false;
  /** Newlines seen so far (the physical line number, less one, of the position reached). */
  private newlines = 0;
  /** The physical line numbers that a quoted newline ends (the record goes on on the next line). */
  private readonly continued: number[] = [];

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    let pos = 0;
    for (;;) {
      const quote = chunk.indexOf(QUOTE, pos);
      const end = quote < 0 ? chunk.length : quote;
      for (let i = chunk.indexOf(NEWLINE, pos); i >= 0 && i < end; i = chunk.indexOf(NEWLINE, i + 1)) {
        this.newlines++;
        if (this.inQuotes) this.continued.push(this.newlines);
      }
      if (quote < 0) break;
      this.inQuotes = !this.inQuotes;
      pos = quote + 1;
    }
    done(null, chunk);
  }

  /** The record (1-based, the header included) that physical line `line` (1-based) belongs to. */
  recordOf(line: number): number {
    let joined = 0;
    for (const l of this.continued) if (l < line) joined++;
    return line - joined;
  }
}
