import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';

/** A request body read whole before any database work: in memory when small, else in a temp file. */
export interface SpooledBody {
  readonly bytes: number;
  /** Where it lies: 'memory', or the temp file's path (for logs and tests). */
  readonly where: string;
  /** A fresh stream of the body (call once per read). */
  open(): Readable;
  /** Removes the temp file, if any. Safe to call twice. */
  dispose(): Promise<void>;
}

/** Writes are batched to about this many bytes (fewer system calls than one write per socket read). */
const WRITE_BATCH = 1024 * 1024;

/**
 * Reads a request body to its end before the caller takes a pool connection, a transaction or a
 * lock: a client trickling its bytes then holds a socket and a file, never a database connection
 * (21 slow cohort uploads used to take the whole pool of 20, and every other request then waited
 * 5 s for a connection and failed). Up to `memoryBytes` stay in memory; a larger body goes to a file
 * of its own (0600) in a directory of its own (0700) under os.tmpdir(), removed by dispose() or when
 * reading fails. The body's stream errors (a client gone, a body below the minimum rate) reject.
 */
export async function spoolBody(
  body: NodeJS.ReadableStream,
  opts: { memoryBytes: number },
): Promise<SpooledBody> {
  let chunks: Buffer[] = [];
  let held = 0;
  let bytes = 0;
  let dir: string | undefined;
  let file: FileHandle | undefined;
  const flush = async () => {
    if (!chunks.length) return;
    if (!file) {
      dir = await mkdtemp(path.join(tmpdir(), 'custodian-upload-'));
      file = await open(path.join(dir, 'body'), 'wx', 0o600);
    }
    await file.writev(chunks);
    chunks = [];
    held = 0;
  };
  const remove = async () => {
    await file?.close().catch(() => undefined);
    file = undefined;
    if (dir) await rm(dir, { recursive: true, force: true });
  };
  try {
    for await (const chunk of body as AsyncIterable<Buffer | string>) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      chunks.push(buf);
      held += buf.length;
      bytes += buf.length;
      if (file ? held >= WRITE_BATCH : bytes > opts.memoryBytes) await flush();
    }
    if (file) {
      await flush();
      await file.close();
      file = undefined;
    }
  } catch (e) {
    await remove();
    throw e;
  }
  const filePath = dir ? path.join(dir, 'body') : undefined;
  const memory = chunks;
  return {
    bytes,
    where: filePath ?? 'memory',
    open: () =>
      filePath
        ? // Read back as a socket delivers it (64 KiB): 256 KiB reads raised the API's peak RSS
          // under a 900k-line extract from 200-206 to 209-214 MB (docs/BENCHMARKS.md).
          createReadStream(filePath, { highWaterMark: 64 * 1024 })
        : Readable.from(memory, { objectMode: false }),
    dispose: remove,
  };
}
