import { statfs } from 'node:fs/promises';
import { RELEASE_FAILURES } from './release.errors';

const MB = 1024 * 1024;

/** Errors of a file system with no room left (full, or the service's quota spent). */
const NO_ROOM = new Set(['ENOSPC', 'EDQUOT']);

/** Whether `err` (or an error it wraps) is a file system out of room. */
export function isDiskFull(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, i = 0; e && i < 5; i++) {
    if (typeof e.code === 'string' && NO_ROOM.has(e.code)) return true;
    e = e.cause as typeof e;
  }
  return false;
}

/** Bytes the service's user may still write under `dir`. */
export async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return Number(s.bavail) * Number(s.bsize);
}

/**
 * The room a record-level release needs: its estimated output rows at `bytesPerRow` of gzip, twice
 * (the shard files and the assembled files are on disk together until the shards are removed), and
 * a megabyte for the dictionary, the manifest and the file system's own blocks.
 */
export function bytesNeeded(estimatedRows: number, bytesPerRow: number): number {
  return 2 * Math.max(0, estimatedRows) * bytesPerRow + MB;
}

/** A release that stopped, or was refused, for want of disk: the figures for the officer. */
export class DiskFull extends Error {
  readonly code = RELEASE_FAILURES.RELEASE_DISK_FULL;
  constructor(
    readonly free: number,
    readonly needed: number | undefined,
  ) {
    super(
      `the release disk is full: ${Math.floor(free / MB)} MB free` +
        (needed === undefined ? '' : `, ${Math.ceil(needed / MB)} MB needed`),
    );
  }
  /** What the bid's recipients read: no sizes (an estimate of bytes follows the count of rows). */
  static readonly PUBLIC = 'the release disk is full';
}

/** Throws DiskFull when `dir` has less than `needed` bytes free. */
export async function ensureRoom(dir: string, needed: number): Promise<void> {
  const free = await freeBytes(dir);
  if (free < needed) throw new DiskFull(free, needed);
}
