import { Transform, TransformCallback } from 'node:stream';

export interface Line {
  /** 1-based line number. */
  n: number;
  text: string;
  /** The line was longer than the limit; its text is empty and it was not held. */
  tooLong?: boolean;
}

/**
 * Splits a byte stream into lines (LF or CRLF) without ever holding more than one line, and never
 * more than `maxLineBytes` of it: a longer line is discarded as it arrives and reported as too long.
 */
export class LineSplitter extends Transform {
  private parts: Buffer[] = [];
  private size = 0;
  private overflow = false;
  private n = 0;

  constructor(private readonly maxLineBytes = 1024 * 1024) {
    super({ readableObjectMode: true });
  }

  override _transform(chunk: Buffer | string, _enc: BufferEncoding, done: TransformCallback): void {
    let buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    for (;;) {
      const nl = buf.indexOf(10);
      if (nl < 0) {
        this.append(buf);
        break;
      }
      this.append(buf.subarray(0, nl));
      this.emitLine();
      buf = buf.subarray(nl + 1);
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.size > 0 || this.overflow) this.emitLine();
    done();
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

  private emitLine() {
    this.n++;
    if (this.overflow) {
      this.push({ n: this.n, text: '', tooLong: true } satisfies Line);
    } else {
      let text =
        this.parts.length === 1 ? this.parts[0].toString('utf8') : Buffer.concat(this.parts).toString('utf8');
      if (text.endsWith('\r')) text = text.slice(0, -1);
      this.push({ n: this.n, text } satisfies Line);
    }
    this.parts = [];
    this.size = 0;
    this.overflow = false;
  }
}
