import { closeSync, mkdtempSync, openSync, readdirSync, readSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';

/** A spill folder's name: the prefix, the process's pid, `-`, and mkdtemp's characters. */
const SPILL_PREFIX = 'custodian-km-';

/**
 * Removes the spill folders of processes that no longer run (a worker killed while it verified
 * leaves its folder behind: 8 bytes a row of the release). A folder whose pid runs again (reused)
 * stays until that process ends and a later verification sweeps it.
 */
export function sweepStaleSpills(tempDir: string): void {
  let names: string[];
  try {
    names = readdirSync(tempDir);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = /^custodian-km-(\d+)-/.exec(name)?.[1];
    if (!pid || Number(pid) === process.pid) continue;
    try {
      process.kill(Number(pid), 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH')
        rmSync(path.join(tempDir, name), { recursive: true, force: true });
    }
  }
}

/**
 * The verifier's kᵐ check's (person, item) pairs, 8 bytes a row, in a file of their own (mode 0600,
 * in a private folder under `tempDir`, made at the first flush): added one at a time, written
 * `pairsAtATime` at a time, read back in order.
 */
export class PairSpill {
  private readonly pending: Int32Array;
  private pendingPairs = 0;
  private file: { dir: string; fd: number } | undefined;
  private spilledPairs = 0;

  constructor(
    private readonly tempDir: string,
    private readonly pairsAtATime: number,
  ) {
    this.pending = new Int32Array(pairsAtATime * 2);
  }

  /** The spill folder, once made (other files of the count may go beside the pairs). */
  get dir(): string | undefined {
    return this.file?.dir;
  }

  add(p: number, item: number): void {
    this.pending[this.pendingPairs * 2] = p;
    this.pending[this.pendingPairs * 2 + 1] = item;
    if (++this.pendingPairs === this.pairsAtATime) this.flush();
  }

  flush(): void {
    if (!this.pendingPairs) return;
    if (!this.file) {
      sweepStaleSpills(this.tempDir);
      const dir = mkdtempSync(path.join(this.tempDir, `${SPILL_PREFIX}${process.pid}-`));
      this.file = { dir, fd: openSync(path.join(dir, 'pairs'), 'w+', 0o600) };
    }
    const bytes = new Uint8Array(this.pending.buffer, 0, this.pendingPairs * 8);
    for (let at = 0; at < bytes.length;)
      at += writeSync(this.file.fd, bytes, at, bytes.length - at, this.spilledPairs * 8 + at);
    this.spilledPairs += this.pendingPairs;
    this.pendingPairs = 0;
  }

  /** Every pair added, in order: from the file, then those not yet written. */
  *pairs(buf: Int32Array): Generator<Int32Array> {
    const bytes = new Uint8Array(buf.buffer);
    for (let at = 0; at < this.spilledPairs;) {
      const n = Math.min(this.pairsAtATime, this.spilledPairs - at);
      for (let got = 0; got < n * 8;) {
        const r = readSync(this.file!.fd, bytes, got, n * 8 - got, at * 8 + got);
        if (r === 0) throw new Error('kᵐ spill file shorter than written');
        got += r;
      }
      yield buf.subarray(0, n * 2);
      at += n;
    }
    yield this.pending.subarray(0, this.pendingPairs * 2);
  }

  /** Removes the file and its folder (safe to call more than once). */
  dispose(): void {
    if (!this.file) return;
    closeSync(this.file.fd);
    rmSync(this.file.dir, { recursive: true, force: true });
    this.file = undefined;
  }
}
