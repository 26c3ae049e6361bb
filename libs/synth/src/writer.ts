import { createHash, Hash } from 'node:crypto';
import { createWriteStream, WriteStream } from 'node:fs';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';

export interface WrittenFile {
  name: string;
  lines: number;
  bytes: number;
  sha256: string;
}

/**
 * A file written line by line with backpressure: lines are gathered into chunks of about 256 KiB,
 * each chunk is hashed and handed to the stream, and when the stream's buffer is full the producer
 * awaits `drain` before making more. Memory stays at a few chunks whatever the file size.
 */
export class LineFile {
  private pending = '';
  private lines = 0;
  private bytes = 0;
  private readonly hash: Hash = createHash('sha256');
  private readonly stream: WriteStream;
  private drain: Promise<unknown> | undefined;
  private failure: Error | undefined;

  static readonly CHUNK = 256 * 1024;

  constructor(
    readonly path: string,
    readonly name: string,
  ) {
    this.stream = createWriteStream(path, { highWaterMark: 1024 * 1024 });
    this.stream.on('error', (err) => (this.failure ??= err));
  }

  /** Appends text (one or more complete lines, each ending in `\n`). */
  write(text: string, lines = 1): void {
    this.pending += text;
    this.lines += lines;
    if (this.pending.length >= LineFile.CHUNK) this.flush();
  }

  /** Appends one NDJSON line. */
  line(json: string): void {
    this.write(`${json}\n`);
  }

  private flush(): void {
    if (!this.pending) return;
    const buf = Buffer.from(this.pending, 'utf8');
    this.pending = '';
    this.hash.update(buf);
    this.bytes += buf.length;
    if (!this.stream.write(buf) && !this.drain)
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
