import { Transform, TransformCallback } from 'node:stream';

export interface Line {
  /** 1-based line number. */
  n: number;
  text: string;
  /** The line was longer than the limit; its text is empty and it was not held. */
  tooLong?: boolean;
  /** Too long, and its bytes matched the reader's `watch` as they went by (it may be an objection). */
  watched?: boolean;
}

/**
 * Called once per line, in order: its 1-based number and its text, or null when it was too long
 * (then `watched`: whether its bytes matched the reader's watch as they went by).
 */
export type OnLine = (n: number, text: string | null, watched?: boolean) => void;

/**
 * A test of a too-long line's bytes as they are dropped (read as latin1: one character a byte, so
 * ASCII patterns are found whatever the encoding around them), so that a line that cannot be held
 * can still be known to carry something that matters (an objection code: fail closed).
 */
export type Watch = (text: string) => boolean;
/** Bytes of a dropped line's end kept to find a pattern cut across two chunks. */
const WATCH_OVERLAP = 64;

/**
 * Splits a byte stream into lines (LF or CRLF) without ever holding more than one line beyond the
 * chunk being read, and never more than `maxLineBytes` of it: a longer line is discarded as it
 * arrives and reported as too long (text null).
 *
 * The lines wholly inside a chunk are decoded with one `toString` and one `split` (each line is then
 * a slice of that string); only a line that spans chunks is gathered from parts.
 */
export class LineReader {
  private readonly held: HeldLine;
  private n: number;

  constructor(
    maxLineBytes: number,
    private readonly onLine: OnLine,
    /** The number of the first line read (a reader may start part-way through a stream). */
    firstLine = 1,
    private readonly watch?: Watch,
  ) {
    this.held = new HeldLine(maxLineBytes, watch);
    this.n = firstLine - 1;
  }

  write(buf: Buffer): void {
    const first = buf.indexOf(10);
    if (first < 0) {
      this.held.add(buf);
      return;
    }
    this.held.add(buf.subarray(0, first));
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
        if (end - start > this.held.maxBytes)
          this.onLine(++this.n, null, this.watch?.(buf.toString('latin1', start, end)) ?? false);
        else this.onLine(++this.n, stripCr(text));
        start = end + 1;
      }
    }
    this.held.add(buf.subarray(last + 1));
  }

  /** The last line, when the stream does not end with a newline. */
  end(): void {
    if (!this.held.empty) this.emitHeld();
  }

  private emitHeld() {
    const bytes = this.held.take();
    if (bytes === null) this.onLine(++this.n, null, this.held.takenWatched);
    else this.onLine(++this.n, stripCr(bytes.toString('utf8')));
  }
}

/**
 * The unfinished line carried from one chunk to the next: never more than `maxBytes` of it — a
 * line that grows past that is dropped as it arrives and only remembered as too long.
 */
export class HeldLine {
  private parts: Buffer[] = [];
  private size = 0;
  private tooLong = false;
  /** The dropped line matched the watch so far; the last WATCH_OVERLAP characters seen. */
  private watched = false;
  private tail = '';
  /** Whether the too-long line the last `take` gave null for matched the watch. */
  takenWatched = false;

  constructor(
    readonly maxBytes: number,
    private readonly watch?: Watch,
  ) {}

  get empty(): boolean {
    return this.size === 0 && !this.tooLong;
  }

  /** Whether the line held is already too long (its bytes are being dropped). */
  get dropping(): boolean {
    return this.tooLong;
  }

  add(b: Buffer): void {
    if (!b.length) return;
    if (this.tooLong) return this.see(b);
    if (this.size + b.length > this.maxBytes) {
      const parts = this.parts;
      this.reset();
      this.tooLong = true;
      for (const p of parts) this.see(p);
      this.see(b);
      return;
    }
    this.parts.push(b);
    this.size += b.length;
  }

  /** Its bytes so far (null when it was too long: `takenWatched` then says what the watch saw), and starts afresh. */
  take(): Buffer | null {
    this.takenWatched = this.tooLong && this.watched;
    const bytes = this.tooLong ? null : this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts);
    this.reset();
    return bytes;
  }

  /** A dropped line's bytes, through the watch (until it matches once). */
  private see(b: Buffer): void {
    if (!this.watch || this.watched) return;
    const text = this.tail + b.toString('latin1');
    this.watched = this.watch(text);
    this.tail = text.slice(-WATCH_OVERLAP);
  }

  private reset() {
    this.parts = [];
    this.size = 0;
    this.tooLong = false;
    this.watched = false;
    this.tail = '';
  }
}

const stripCr = (text: string) => (text.endsWith('\r') ? text.slice(0, -1) : text);

/** `LineReader` as a stream of `Line` objects (one object per line: for readers that want them). */
export class LineSplitter extends Transform {
  private readonly reader: LineReader;

  constructor(maxLineBytes = 1024 * 1024, watch?: Watch) {
    super({ readableObjectMode: true });
    this.reader = new LineReader(
      maxLineBytes,
      (n, text, watched) =>
        this.push(
          (text === null
            ? { n, text: '', tooLong: true, ...(watched ? { watched: true } : {}) }
            : { n, text }) satisfies Line,
        ),
      1,
      watch,
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
