import { closeSync, mkdtempSync, openSync, readdirSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Column, TokenIndex } from './token-index';
import { PERSON_QUASI_IDENTIFIER_COLUMNS } from './verifier-rules';

const SLOTS = PERSON_QUASI_IDENTIFIER_COLUMNS.length;
const NONE = -1;

/** A string's own copy (V8 keeps a substring as a slice of its parent, which it then keeps alive). */
export const copyOf = (s: string): string => Buffer.from(s, 'utf8').toString('utf8');

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

/** (person, item) pairs written to the spill file at a time, and read back at a time. */
const SPILL_PAIRS = 1 << 17;
/** Person-items sorted at a time (8 bytes each): a class larger than this is counted in parts. */
const BATCH_ITEMS = 1 << 19;

/**
 * The verifier's kᵐ-anonymity check (SPEC §5 step 5), its own code: it reads only what the files
 * show. Every person (token) is gathered across the files with the quasi-identifiers shown of them
 * and the items of their rows; every set of at most m of a person's items must be carried by at
 * least k persons of the same class.
 *
 * Memory does not grow with the rows (#19, #27: at a million persons with ten events each the
 * person-item lists held in memory took ~140 MB of a 200 MB worker): item texts and values are
 * interned to numbers, person tokens in a `TokenIndex`, a person's quasi-identifiers in paged
 * columns (~50 bytes a person in all), and each row's (person, item) pair is written to a spill
 * file (8 bytes a row, in the system's temporary folder; `dispose` removes it). Counting orders the
 * persons by class, then reads the spill file once per batch of persons (at most `BATCH_ITEMS`
 * pairs, whole persons, in class order), sorts the batch's pairs by (person, item), and walks them:
 * a person's distinct items, every set of at most m of them counted in a Map of the current class
 * (kept across batches while the class goes on), so that only one class's sets are held at once.
 */
export class KmSets {
  private readonly items = new Map<string, number>();
  private readonly values = new Map<string, number>();
  /** Person tokens interned: a person is their token's number. */
  private tokens: TokenIndex | undefined = new TokenIndex();
  /**
   * Per person: their class so far (the value ids of the quasi-identifier slots their rows showed,
   * NONE where none did; the distinct vectors interned, `classes`), and their rows.
   */
  private classOf: Column | undefined = new Column();
  private readonly classes: Int32Array[] = [new Int32Array(SLOTS).fill(NONE)];
  private readonly classIds = new Map<string, number>([[this.classes[0].join(','), 0]]);
  private readonly rows = new Column();
  /** The person of the last row `add`ed (for `again`). */
  private last: number | undefined;
  /**
   * Rows of a file with no person column, each a person of its own with one item (its only set):
   * counted per class and item, not held as persons (a file of ten million such rows would
   * otherwise be ten million persons).
   */
  private readonly single = new Map<number, Map<number, number>>();
  private singles = 0;
  /** Pairs not yet written, and the spill file (made at the first row). */
  private readonly pending: Int32Array;
  private pendingPairs = 0;
  private spill: { dir: string; fd: number } | undefined;
  private spilledPairs = 0;

  private readonly tempDir: string;
  private readonly spillPairs: number;
  private readonly batchItems: number;

  /** `spillPairs` and `batchItems` smaller than the defaults let a test reach every path. */
  constructor(opts: { tempDir?: string; spillPairs?: number; batchItems?: number } = {}) {
    this.tempDir = opts.tempDir ?? tmpdir();
    this.spillPairs = opts.spillPairs ?? SPILL_PAIRS;
    this.batchItems = opts.batchItems ?? BATCH_ITEMS;
    this.pending = new Int32Array(this.spillPairs * 2);
  }

  /**
   * A row: its person (undefined where the file has no person column: the row is a person of its
   * own), `qi` the [column, value] pairs of the quasi-identifier columns the row's file shows.
   */
  add(person: string | undefined, qi: [string, string][], item: string): void {
    if (!this.tokens || !this.classOf) throw new Error('kᵐ sets already counted');
    let id = this.items.get(item);
    if (id === undefined) this.items.set(copyOf(item), (id = this.items.size));
    if (person === undefined) {
      const c = this.classWith(0, qi);
      const counts = this.single.get(c) ?? new Map<number, number>();
      this.single.set(c, counts.set(id, (counts.get(id) ?? 0) + 1));
      this.singles++;
      return;
    }
    // A token's bytes are copied into the index: no slice of the file's text (which would keep
    // its whole chunk alive) is kept.
    const p = this.tokens.intern(person);
    this.last = p;
    if (p === this.rows.length) {
      this.rows.push(0);
      this.classOf.push(0);
    }
    this.rows.set(p, this.rows.get(p) + 1);
    const was = this.classOf.get(p);
    const c = this.classWith(was, qi);
    if (c !== was) this.classOf.set(p, c);
    this.pending[this.pendingPairs * 2] = p;
    this.pending[this.pendingPairs * 2 + 1] = id;
    if (++this.pendingPairs === this.spillPairs) this.flush();
  }

  /**
   * A row of the person of the row `add`ed before, with the same quasi-identifier values (which
   * leave their class as it is): only its item is counted.
   */
  again(item: string): void {
    if (this.last === undefined) throw new Error('kᵐ sets: no person before');
    const p = this.last;
    let id = this.items.get(item);
    if (id === undefined) this.items.set(copyOf(item), (id = this.items.size));
    this.rows.set(p, this.rows.get(p) + 1);
    this.pending[this.pendingPairs * 2] = p;
    this.pending[this.pendingPairs * 2 + 1] = id;
    if (++this.pendingPairs === this.spillPairs) this.flush();
  }

  /** The class of a row's values over a class so far: a new vector only where one differs. */
  private classWith(was: number, qi: [string, string][]): number {
    let vector: Int32Array | undefined;
    for (const [c, v] of qi) {
      const slot = PERSON_QUASI_IDENTIFIER_COLUMNS.indexOf(c);
      // `*` tells an attacker no more than a column not shown: both leave the slot open.
      if (slot < 0 || v === '*') continue;
      let vid = this.values.get(v);
      if (vid === undefined) this.values.set(copyOf(v), (vid = this.values.size));
      if ((vector ?? this.classes[was])[slot] === vid) continue;
      vector ??= this.classes[was].slice();
      vector[slot] = vid;
    }
    if (!vector) return was;
    const text = vector.join(',');
    let c = this.classIds.get(text);
    if (c === undefined) {
      this.classIds.set(text, (c = this.classes.length));
      this.classes.push(vector);
    }
    return c;
  }

  /** Persons: those named by a token, and the rows of files without a person column. */
  get size(): number {
    return this.rows.length + this.singles;
  }

  private flush(): void {
    if (!this.pendingPairs) return;
    if (!this.spill) {
      sweepStaleSpills(this.tempDir);
      const dir = mkdtempSync(path.join(this.tempDir, `${SPILL_PREFIX}${process.pid}-`));
      this.spill = { dir, fd: openSync(path.join(dir, 'pairs'), 'w+', 0o600) };
    }
    const bytes = new Uint8Array(this.pending.buffer, 0, this.pendingPairs * 8);
    for (let at = 0; at < bytes.length;)
      at += writeSync(this.spill.fd, bytes, at, bytes.length - at, this.spilledPairs * 8 + at);
    this.spilledPairs += this.pendingPairs;
    this.pendingPairs = 0;
  }

  /** Every (person, item) pair added, in order: from the spill file, then those not yet written. */
  private *pairs(buf: Int32Array): Generator<Int32Array> {
    const bytes = new Uint8Array(buf.buffer);
    for (let at = 0; at < this.spilledPairs;) {
      const n = Math.min(this.spillPairs, this.spilledPairs - at);
      for (let got = 0; got < n * 8;) {
        const r = readSync(this.spill!.fd, bytes, got, n * 8 - got, at * 8 + got);
        if (r === 0) throw new Error('kᵐ spill file shorter than written');
        got += r;
      }
      yield buf.subarray(0, n * 2);
      at += n;
    }
    yield this.pending.subarray(0, this.pendingPairs * 2);
  }

  /** Removes the spill file (safe to call more than once). */
  dispose(): void {
    if (!this.spill) return;
    closeSync(this.spill.fd);
    rmSync(this.spill.dir, { recursive: true, force: true });
    this.spill = undefined;
  }

  /**
   * The number of sets (of at most m items, within a class) carried by fewer than k persons. Once:
   * the tokens and quasi-identifiers are let go as the persons are ordered.
   */
  smallSets(k: number, m: number): number {
    if (!this.classOf) throw new Error('kᵐ sets already counted');
    const persons = this.rows.length;
    // A person's class: the slots their files show other than as `*` (a column not shown, or shown
    // as `*`, is not part of the class: an attacker learns nothing from it); persons ordered by class (a counting sort), their place in that
    // order (`rank`) written over their class in the same column. The tokens are let go.
    const rank = this.classOf;
    this.classOf = this.tokens = undefined;
    const classCount = this.classes.length;
    const start = new Int32Array(classCount + 1);
    for (let p = 0; p < persons; p++) start[rank.get(p) + 1]++;
    for (let c = 0; c < classCount; c++) start[c + 1] += start[c];
    const fill = start.slice(0, classCount);
    for (let p = 0; p < persons; p++) rank.set(p, fill[rank.get(p)]++);
    const rowsAt = new Int32Array(persons);
    for (let p = 0; p < persons; p++) rowsAt[rank.get(p)] = this.rows.get(p);
    // The class at a place: places are walked in order, so a pointer into `start`.
    let at = 0;
    const classAt = (r: number) => {
      while (r >= start[at + 1]) at++;
      return at;
    };

    // A pair's sort key: (place in the batch, item) in one exact double.
    const base = this.items.size + 1;
    const maxPlaces = Math.max(1, Math.floor(Number.MAX_SAFE_INTEGER / base));
    // Sets packed into one number (item numbers in base n + 1, 0 for "none") where that is exact;
    // else text keys.
    const packed = Math.pow(base, m) < Number.MAX_SAFE_INTEGER;
    const support = new Map<number | string, number>();
    const items: number[] = [];
    let small = 0;
    let keys = new Float64Array(0);
    const readBuf = new Int32Array(this.spillPairs * 2);
    let current = NONE;
    const walk = (from: number, key: number, text: string, size: number) => {
      for (let j = from; j < items.length; j++) {
        const nk = key * base + items[j] + 1;
        const nt = packed ? '' : `${text},${items[j]}`;
        const s = packed ? nk : nt;
        support.set(s, (support.get(s) ?? 0) + 1);
        if (size + 1 < m) walk(j + 1, nk, nt, size + 1);
      }
    };
    // A class's sets counted; its rows without a person (one item each) are its sets of one item.
    const endClass = () => {
      for (const [item, n] of this.single.get(current) ?? []) {
        const s = packed ? item + 1 : `,${item}`;
        support.set(s, (support.get(s) ?? 0) + n);
      }
      this.single.delete(current);
      for (const n of support.values()) if (n < k) small++;
      support.clear();
    };
    try {
      for (let lo = 0; lo < persons;) {
        // A batch: whole persons in class order, at most BATCH_ITEMS pairs (a person with more
        // is a batch of their own).
        let hi = lo;
        let size = 0;
        while (hi < persons && hi - lo < maxPlaces && (hi === lo || size + rowsAt[hi] <= this.batchItems))
          size += rowsAt[hi++];
        // One array for every batch, and one read buffer (a sync loop: what it drops is not
        // collected until it ends, so new arrays per batch would all be held at once).
        if (size > keys.length) keys = new Float64Array(size);
        let n = 0;
        for (const chunk of this.pairs(readBuf))
          for (let i = 0; i < chunk.length; i += 2) {
            const r = rank.get(chunk[i]);
            if (r >= lo && r < hi) keys[n++] = (r - lo) * base + chunk[i + 1];
          }
        if (n !== size) throw new Error('kᵐ spill file does not match the rows added');
        const batch = keys.subarray(0, n).sort();
        for (let i = 0; i < n;) {
          const place = Math.floor(batch[i] / base);
          items.length = 0;
          for (; i < n && Math.floor(batch[i] / base) === place; i++) {
            const item = batch[i] - place * base;
            if (items[items.length - 1] !== item) items.push(item);
          }
          const c = classAt(lo + place);
          if (c !== current) {
            endClass();
            current = c;
          }
          walk(0, 0, '', 0);
        }
        lo = hi;
      }
      endClass();
      // Classes of rows without a person only.
      for (const counts of this.single.values()) for (const n of counts.values()) if (n < k) small++;
      return small;
    } finally {
      this.dispose();
    }
  }
}
