import { Transform, TransformCallback } from 'node:stream';

export interface Line {
  /** 1-based line number. */
  n: number;
  text: string;
  /** The line was longer than the limit; its text is empty and it was not held. */
  tooLong?: boolean;
}

/** Called once per line, in order: its 1-based number and its text, or null when it was too long. */
export type OnLine = (n: number, text: string | null) => void;

/**
 * Splits a byte stream into lines (LF or CRLF) without ever holding more than one line beyond the
 * chunk being read, and never more than `maxLineBytes` of it: a longer line is discarded as it
 * arrives and reported as too long (text null).
 *
 * The lines wholly inside a chunk are decoded with one `toString` and one `split` (each line is then
 * a slice of that string); only a line that spans chunks is gathered from parts.
 */
export class LineReader {
  private parts: Buffer[] = [];
  private size = 0;
  private overflow = false;
  private n: number;

  constructor(
    private readonly maxLineBytes: number,
    private readonly onLine: OnLine,
    /** The number of the first line read (a reader may start part-way through a stream). */
    firstLine = 1,
  ) {
    this.n = firstLine - 1;
  }

  write(buf: Buffer): void {
    const first = buf.indexOf(10);
    if (first < 0) {
      this.append(buf);
      return;
    }
    this.append(buf.subarray(0, first));
    this.emitHeld();
    const last = buf.lastIndexOf(10);
    if (last > first) {
      // A newline byte is never part of a UTF-8 sequence (nor of what decodes to U+FFFD), so the
      // pieces of the decoded text are the byte ranges between newlines, one for one: each line's
      // length is measured in the bytes that arrived, not in its decoding.
      const texts = buf.toString('utf8', first + 1, last).split('\n');
      let start = first + 1;
      for (const text of texts) {
        const end = buf.indexOf(10, start);
        this.onLine(++this.n, end - start > this.maxLineBytes ? null : stripCr(text));
        start = end + 1;
      }
    }
    this.append(buf.subarray(last + 1));
  }

  /** The last line, when the stream does not end with a newline. */
  end(): void {
    if (this.size > 0 || this.overflow) this.emitHeld();
  }

  private append(b: Buffer) {
    if (this.overflow || !b.length) return;
    if (this.size + b.length > this.maxLineBytes) {
      this.overflow = true;
      this.parts = [];
      this.size = 0;
      return;
    }
    this.parts.push(b);
    this.size += b.length;
  }

  private emitHeld() {
    const text = this.overflow
      ? null
      : stripCr(
          this.parts.length === 1
            ? this.parts[0].toString('utf8')
            : Buffer.concat(this.parts).toString('utf8'),
        );
    this.parts = [];
    this.size = 0;
    this.overflow = false;
    this.onLine(++this.n, text);
  }
}

const stripCr = (text: string) => (text.endsWith('\r') ? text.slice(0, -1) : text);

/** `LineReader` as a stream of `Line` objects (one object per line: for readers that want them). */
export class LineSplitter extends Transform {
  private readonly reader: LineReader;

  constructor(maxLineBytes = 1024 * 1024) {
    super({ readableObjectMode: true });
    this.reader = new LineReader(maxLineBytes, (n, text) =>
      this.push((text === null ? { n, text: '', tooLong: true } : { n, text }) satisfies Line),
    );
  }

  override _transform(chunk: Buffer | string, _enc: BufferEncoding, done: TransformCallback): void {
    this.reader.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    done();
  }

  override _flush(done: TransformCallback): void {
    this.reader.end();
    done();
  }
}
