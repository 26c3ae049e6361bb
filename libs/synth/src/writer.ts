import { createHash, Hash } from 'node:crypto';
import { createWriteStream, WriteStream } from 'node:fs';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';

/** Bytes gathered before a write to the stream. */
const CHUNK = 256 * 1024;

export interface WrittenFile {
  name: string;
  lines: number;
  bytes: number;
  sha256: string;
}

/**
 * A file written line by line with backpressure: lines are encoded straight into a 256 KiB buffer
 * (so the strings die young and the heap stays small), each full buffer is hashed and handed to
 * the stream, and when the stream's buffer is full the producer awaits `drain` before making more.
 * Memory stays at a few chunks whatever the file size.
 */
export class LineFile {
  private chunk: Buffer = Buffer.allocUnsafe(CHUNK);
  /** Chunks the stream has finished with, reused so memory is not churned through malloc. */
  private readonly spare: Buffer[] = [];
  private used = 0;
  private lines = 0;
  private bytes = 0;
  private readonly hash: Hash = createHash('sha256');
  private readonly stream: WriteStream;
  private drain: Promise<unknown> | undefined;
  private failure: Error | undefined;

  constructor(
    readonly path: string,
    readonly name: string,
  ) {
    this.stream = createWriteStream(path, { highWaterMark: 1024 * 1024 });
    this.stream.on('error', (err) => (this.failure ??= err));
  }

  /** Appends text (one or more complete lines, each ending in `\n`). */
  write(text: string, lines = 1): void {
    this.lines += lines;
    // UTF-8 takes at most three bytes per UTF-16 unit.
    if (this.used + text.length * 3 > CHUNK) {
      this.flush();
      if (text.length * 3 > CHUNK) {
        this.emit(Buffer.from(text, 'utf8'));
        return;
      }
    }
    this.used += this.chunk.write(text, this.used, 'utf8');
  }

  /** Appends one NDJSON line. */
  line(json: string): void {
    this.write(json);
    this.write('\n', 0);
  }

  private flush(): void {
    if (this.used === 0) return;
    const whole = this.chunk;
    const full = whole.subarray(0, this.used);
    // The stream holds the written chunk until it is on disk; it comes back to `spare` then.
    this.chunk = this.spare.pop() ?? Buffer.allocUnsafe(CHUNK);
    this.used = 0;
    this.emit(full, () => this.spare.push(whole));
  }

  private emit(buf: Buffer, done?: () => void): void {
    this.hash.update(buf);
    this.bytes += buf.length;
    const written = (err?: Error | null) => {
      if (!err) done?.();
    };
    if (!this.stream.write(buf, written) && !this.drain)
      // A stream error is kept in `failure` (the listener above) and thrown by ready()/close().
      this.drain = once(this.stream, 'drain').catch(() => undefined);
  }

  /** Resolves when the stream can take more; call between units of work. */
  async ready(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.drain) {
      const waiting = this.drain;
      this.drain = undefined;
      await waiting;
    }
  }

  /** Whether the producer should wait (cheap check before awaiting `ready`). */
  get blocked(): boolean {
    return this.drain !== undefined || this.failure !== undefined;
  }

  async close(): Promise<WrittenFile> {
    this.flush();
    await this.ready();
    this.stream.end();
    await finished(this.stream);
    return { name: this.name, lines: this.lines, bytes: this.bytes, sha256: this.hash.digest('hex') };
  }

  /** Closes the file after a failure elsewhere, without reporting. */
  destroy(): void {
    this.stream.destroy();
  }
}
