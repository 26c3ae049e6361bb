import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, gzipSync } from 'node:zlib';
import type { PoolClient } from 'pg';
import { to as copyTo } from 'pg-copy-streams';

export interface WrittenFile {
  rows: number;
  bytes: number;
  sha256: string;
}

/** Release files hold patient-level data: readable by the service's user alone (0600). */
export const privateFile = (file: string) => createWriteStream(file, { mode: 0o600 });
/** Folders of release files: the service's user alone (0700). */
export const PRIVATE_DIR_MODE = 0o700;

/** Counts and hashes the bytes that go to disk (the bytes a recipient downloads). */
function hashing(): { stream: Transform; result: () => { bytes: number; sha256: string } } {
  const hash = createHash('sha256');
  let bytes = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      cb(null, chunk);
    },
  });
  return { stream, result: () => ({ bytes, sha256: hash.digest('hex') }) };
}

/**
 * `COPY (select) TO STDOUT WITH CSV` → gzip → SHA-256 → file. Rows are never parsed here; memory
 * stays flat whatever the size. Gzip output is deterministic for the same input and level. `tap`,
 * where given, sees every CSV chunk before gzip does (the risk report's tally, risk-tally.ts); a
 * promise it returns holds the stream until it settles.
 */
export async function copyQueryToGzip(
  client: PoolClient,
  select: string,
  file: string,
  opts: { header?: boolean; level?: number; tap?: (chunk: Buffer) => void | Promise<void> } = {},
): Promise<WrittenFile> {
  const copy = client.query(
    copyTo(
      `COPY (${select}) TO STDOUT WITH (FORMAT csv, HEADER ${opts.header === false ? 'false' : 'true'})`,
    ),
  );
  const h = hashing();
  const tap = opts.tap;
  const stages: NodeJS.ReadWriteStream[] = tap
    ? [
        new Transform({
          transform(chunk: Buffer, _enc, cb) {
            let held: void | Promise<void>;
            try {
              held = tap(chunk);
            } catch (err) {
              return cb(err as Error);
            }
            if (held) held.then(() => cb(null, chunk), cb);
            else cb(null, chunk);
          },
        }),
      ]
    : [];
  try {
    await pipeline([copy, ...stages, createGzip({ level: opts.level ?? 6 }), h.stream, privateFile(file)]);
  } catch (err) {
    // A sink that failed (a full disk) leaves the COPY half-read: the server waits to send the rest
    // and the connection never answers another statement (a ROLLBACK on it hung for good). The
    // connection is ended, not waited on: the server ends the COPY and its transaction.
    abandonConnection(client);
    throw err;
  }
  return { rows: copy.rowCount, ...h.result() };
}

/**
 * Closes `client`'s socket at once: whatever it was doing (a COPY half-read) ends on the server,
 * with its transaction and session locks; queries on it fail at once instead of waiting forever,
 * and the pool discards it (the client emits `error`, on which the query runner releases it so).
 */
export function abandonConnection(client: PoolClient): void {
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}

/**
 * One gzip file from a CSV header line and shard files that are gzip members of their own
 * (RFC 1952 allows a file to be several members; gunzip, zlib, Python and R read it as one
 * stream). The bytes are hashed as they are written; shard files are read, never decompressed.
 */
export async function assembleGzip(
  header: string,
  parts: string[],
  file: string,
  level = 6,
): Promise<Omit<WrittenFile, 'rows'>> {
  const h = hashing();
  async function* members(): AsyncGenerator<Buffer> {
    yield gzipSync(Buffer.from(header), { level });
    for (const part of parts) for await (const chunk of createReadStream(part)) yield chunk as Buffer;
  }
  await pipeline(Readable.from(members()), h.stream, privateFile(file));
  return h.result();
}

/** Small Node-generated content (aggregate table, data dictionary, manifest) to a file, hashed. */
export async function writeContent(
  file: string,
  content: string,
  gzip: boolean,
  rows: number,
): Promise<WrittenFile> {
  const h = hashing();
  const stages: NodeJS.ReadWriteStream[] = gzip ? [createGzip({ level: 6 })] : [];
  await pipeline([Readable.from([Buffer.from(content)]), ...stages, h.stream, privateFile(file)]);
  return { rows, ...h.result() };
}

export function csvLine(values: (string | number | null | undefined)[]): string {
  return (
    values
      .map((v) => {
        let s = v === null || v === undefined ? '' : String(v);
        // Data, never a formula (as spreadsheetSafe in SQL): plain signed numbers stay as they are.
        if (/^[=+\-@\t\r]/.test(s) && !/^[-+]?\d+(\.\d+)?$/.test(s)) s = `'${s}`;
        return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
      })
      .join(',') + '\n'
  );
}
