import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PairSpill } from './km-spill';
import { Column, TokenIndex } from './token-index';
import { PERSON_QUASI_IDENTIFIER_COLUMNS } from './verifier-rules';

const SLOTS = PERSON_QUASI_IDENTIFIER_COLUMNS.length;
const SLOT_OF = new Map(PERSON_QUASI_IDENTIFIER_COLUMNS.map((c, i) => [c, i]));
const NONE = -1;
/** Values a slot of a packed class key holds (`classKey`): 4 slots × 13 bits stay exact in a double. */
const PACK = 1 << 13;

/** A string's own copy (V8 keeps a substring as a slice of its parent, which it then keeps alive). */
export const copyOf = (s: string): string => Buffer.from(s, 'utf8').toString('utf8');

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
 * persons by class and cuts them into batches (at most `BATCH_ITEMS` pairs, whole persons, in class
 * order), reads the spill file once to write each batch's pairs together into a second file, then
 * reads each batch back, puts its pairs in person order, and walks them: a person's distinct items,
 * every set of at most m of them counted in a Map of the current class (kept across batches while
 * the class goes on), so that only one class's sets are held at once.
 */
export class KmSets {
  /**
   * Items, numbered across files: a file's item texts are its own (see `add`), so each is kept as
   * its UTF-8 bytes after a tag byte of its file (`fileTags`).
   */
  private readonly items = new TokenIndex();
  private readonly fileTags = new Map<string, number>();
  private tagged: { file?: string; tag: number } = { tag: 0 };
  private readonly values = new Map<string, number>();
  /** Person tokens interned: a person is their token's number. */
  private tokens: TokenIndex | undefined = new TokenIndex();
  /**
   * Per person: their class so far (the value ids of the quasi-identifier slots their rows showed,
   * NONE where none did; the distinct vectors interned, `classes`), and their rows.
   */
  private classOf: Column | undefined = new Column();
  private readonly classes: Int32Array[] = [new Int32Array(SLOTS).fill(NONE)];
  private readonly classIds = new Map<number | string, number>([[this.classKey(this.classes[0]), 0]]);
  private readonly rows = new Column();
  /**
   * Per file (by its tag), the person of its last row `add`ed (for `again`). Per file: the files of
   * a release are read at once, their chunks interleaved, so the row `add`ed last may be another
   * file's (one `last` for all files credited a GP person's later rows to a HES person).
   */
  private readonly last: number[] = [];
  /**
   * Rows of a file with no person column, each a person of its own with one item (its only set):
   * counted per class and item, not held as persons (a file of ten million such rows would
   * otherwise be ten million persons).
   */
  private readonly single = new Map<number, Map<number, number>>();
  private singles = 0;
  /** Each row's (person, item) pair. */
  private readonly spill: PairSpill;

  private readonly tempDir: string;
  private readonly spillPairs: number;
  private readonly batchItems: number;

  /** `spillPairs` and `batchItems` smaller than the defaults let a test reach every path. */
  constructor(opts: { tempDir?: string; spillPairs?: number; batchItems?: number } = {}) {
    this.tempDir = opts.tempDir ?? tmpdir();
    this.spillPairs = opts.spillPairs ?? SPILL_PAIRS;
    this.batchItems = opts.batchItems ?? BATCH_ITEMS;
    this.spill = new PairSpill(this.tempDir, this.spillPairs);
  }

  /**
   * A row: its person (undefined where the file has no person column: the row is a person of its
   * own), `qi` the [column, value] pairs of the quasi-identifier columns the row's file shows, and
   * its item as a text of `file` (the file's name): two rows carry the same item when they are of
   * the same file and their texts are equal, so each file's texts must name its items one to one.
   */
  add(person: string | undefined, qi: [string, string][], item: string, file = ''): void {
    if (!this.tokens || !this.classOf) throw new Error('kᵐ sets already counted');
    const id = this.itemId(item, file);
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
    this.last[this.tagOf(file)] = p;
    if (p === this.rows.length) {
      this.rows.push(0);
      this.classOf.push(0);
    }
    this.rows.set(p, this.rows.get(p) + 1);
    const was = this.classOf.get(p);
    const c = this.classWith(was, qi);
    if (c !== was) this.classOf.set(p, c);
    this.spill.add(p, id);
  }

  /**
   * A row of the person of the row `add`ed before in the same file, with the same
   * quasi-identifier values (which leave their class as it is): only its item is counted.
   */
  again(item: string, file = ''): void {
    this.count(this.lastOf(file), this.itemId(item, file));
  }

  private lastOf(file: string): number {
    const p = this.last[this.tagOf(file)];
    if (p === undefined) throw new Error('kᵐ sets: no person before in this file');
    return p;
  }

  /** A row of person `p` carrying item `id`. */
  private count(p: number, id: number): void {
    this.rows.set(p, this.rows.get(p) + 1);
    this.spill.add(p, id);
  }

  private itemId(item: string, file: string): number {
    return this.items.internUtf8(item, this.tagOf(file));
  }

  private tagOf(file: string): number {
    // The file of the call before, most often (two lookups a row were 1% of the verification).
    if (file === this.tagged.file) return this.tagged.tag;
    let tag = this.fileTags.get(file);
    if (tag === undefined) {
      if (this.fileTags.size >= 254) throw new Error('kᵐ sets: more than 254 files');
      this.fileTags.set(file, (tag = this.fileTags.size + 2));
    }
    this.tagged = { file, tag };
    return tag;
  }

  /**
   * As `again`, the item given as the UTF-8 bytes `buf[from, to)` of its text (a row not decoded):
   * the same item as `again` of that text.
   */
  againBytes(buf: Uint8Array, from: number, to: number, file: string): void {
    this.count(this.lastOf(file), this.items.internBytes(buf, from, to, this.tagOf(file)));
  }

  /**
   * A class vector's key: its value numbers packed into one number where each fits 13 bits (a text
   * per new person's class cost ~1 µs at a million persons), else their text. A function of the
   * vector alone, so a vector has one key whatever was interned before.
   */
  private classKey(vector: Int32Array): number | string {
    let key = 0;
    for (let i = 0; i < SLOTS; i++) {
      if (vector[i] + 1 >= PACK) return vector.join(',');
      key = key * PACK + vector[i] + 1;
    }
    return key;
  }

  /** The class of a row's values over a class so far: a new vector only where one differs. */
  private classWith(was: number, qi: [string, string][]): number {
    let vector: Int32Array | undefined;
    for (const [c, v] of qi) {
      const slot = SLOT_OF.get(c);
      // `*` tells an attacker no more than a column not shown: both leave the slot open.
      if (slot === undefined || v === '*') continue;
      let vid = this.values.get(v);
      if (vid === undefined) this.values.set(copyOf(v), (vid = this.values.size));
      if ((vector ?? this.classes[was])[slot] === vid) continue;
      vector ??= this.classes[was].slice();
      vector[slot] = vid;
    }
    if (!vector) return was;
    const key = this.classKey(vector);
    let c = this.classIds.get(key);
    if (c === undefined) {
      this.classIds.set(key, (c = this.classes.length));
      this.classes.push(vector);
    }
    return c;
  }

  /** Persons: those named by a token, and the rows of files without a person column. */
  get size(): number {
    return this.rows.length + this.singles;
  }

  /** Removes the spill file (safe to call more than once). */
  dispose(): void {
    this.spill.dispose();
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

    // Sets packed into one number (item numbers in base n + 1, 0 for "none") where that is exact;
    // else text keys.
    const base = this.items.size + 1;
    const packed = Math.pow(base, m) < Number.MAX_SAFE_INTEGER;
    const support = new Map<number | string, number>();
    let items = new Int32Array(0);
    let count = 0;
    let small = 0;
    let current = NONE;
    const walk = (from: number, key: number, text: string, size: number) => {
      for (let j = from; j < count; j++) {
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
      // Batches: whole persons in place order, at most `batchItems` pairs (a person with more is a
      // batch of their own). Their pairs are written to a file of their own, each batch's together
      // (one pass over the spill file, not one a batch: 19 passes over 78 MB at 1M persons with
      // events), then each batch read back and its pairs put in place order (a counting sort).
      if (persons) this.spill.flush();
      const lows = [0];
      const offsets = [0];
      for (let lo = 0, at = 0; lo < persons;) {
        let hi = lo;
        while (
          hi < persons &&
          (hi === lo || at + rowsAt[hi] - offsets[offsets.length - 1] <= this.batchItems)
        )
          at += rowsAt[hi++];
        lows.push((lo = hi));
        offsets.push(at);
      }
      const batches = lows.length - 1;
      const batchOf = (place: number) => {
        let a = 0;
        for (let b = batches; b - a > 1;) {
          const mid = (a + b) >>> 1;
          if (lows[mid] <= place) a = mid;
          else b = mid;
        }
        return a;
      };
      // A buffer per batch, of (place in the batch, item) pairs: ~4 MB in all, at least 1,024 pairs.
      const room = Math.max(1024, Math.floor((this.spillPairs * 4) / Math.max(batches, 1)));
      const bufs = Array.from({ length: batches }, () => new Int32Array(room * 2));
      const held = new Int32Array(batches);
      const written = new Int32Array(batches);
      const fd = batches ? openSync(path.join(this.spill.dir!, 'batches'), 'w+', 0o600) : -1;
      const put = (b: number) => {
        const bytes = new Uint8Array(bufs[b].buffer, 0, held[b] * 8);
        const pos = (offsets[b] + written[b]) * 8;
        for (let w = 0; w < bytes.length;) w += writeSync(fd, bytes, w, bytes.length - w, pos + w);
        written[b] += held[b];
        held[b] = 0;
      };
      try {
        for (const chunk of this.spill.pairs(new Int32Array(this.spillPairs * 2)))
          for (let i = 0; i < chunk.length; i += 2) {
            const r = rank.get(chunk[i]);
            const b = batchOf(r);
            const buf = bufs[b];
            buf[held[b] * 2] = r - lows[b];
            buf[held[b] * 2 + 1] = chunk[i + 1];
            if (++held[b] === room) put(b);
          }
        for (let b = 0; b < batches; b++) {
          if (held[b]) put(b);
          if (written[b] !== offsets[b + 1] - offsets[b])
            throw new Error('kᵐ spill file does not match the rows added');
        }
        bufs.length = 0;
        let pairs = new Int32Array(0);
        let byPlace = new Int32Array(0);
        for (let b = 0; b < batches; b++) {
          const lo = lows[b];
          const places = lows[b + 1] - lo;
          const size = offsets[b + 1] - offsets[b];
          // One array for every batch (a sync loop: what it drops is not collected until it ends).
          if (size * 2 > pairs.length) pairs = new Int32Array(size * 2);
          if (size > items.length) items = new Int32Array(size);
          const bytes = new Uint8Array(pairs.buffer, 0, size * 8);
          for (let got = 0; got < bytes.length;) {
            const r = readSync(fd, bytes, got, bytes.length - got, offsets[b] * 8 + got);
            if (r === 0) throw new Error('kᵐ batch file shorter than written');
            got += r;
          }
          // Each place's items together, places in order: where each begins, then the items.
          const first = new Int32Array(places + 1);
          for (let q = 0; q < places; q++) first[q + 1] = first[q] + rowsAt[lo + q];
          const fill = first.slice(0, places);
          if (size > byPlace.length) byPlace = new Int32Array(size);
          for (let i = 0; i < size; i++) byPlace[fill[pairs[i * 2]]++] = pairs[i * 2 + 1];
          for (let q = 0; q < places; q++) {
            // The person's distinct items, ascending (a set's key is its items in order).
            const own = byPlace.subarray(first[q], first[q + 1]).sort();
            count = 0;
            for (let j = 0; j < own.length; j++)
              if (count === 0 || items[count - 1] !== own[j]) items[count++] = own[j];
            const c = classAt(lo + q);
            if (c !== current) {
              endClass();
              current = c;
            }
            walk(0, 0, '', 0);
          }
        }
      } finally {
        if (fd >= 0) closeSync(fd);
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
