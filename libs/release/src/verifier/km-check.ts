import { PERSON_QUASI_IDENTIFIER_COLUMNS } from './verifier-rules';

const SLOTS = PERSON_QUASI_IDENTIFIER_COLUMNS.length;
const NONE = -1;

/** A string's own copy (V8 keeps a substring as a slice of its parent, which it then keeps alive). */
export const copyOf = (s: string): string => Buffer.from(s, 'utf8').toString('utf8');

/** A growable Int32Array (the persons' and items' columns below), by half again when full. */
class Ints {
  data = new Int32Array(1024);
  length = 0;
  push(v: number): number {
    if (this.length === this.data.length) {
      const next = new Int32Array(Math.ceil(this.data.length * 1.5));
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length] = v;
    return this.length++;
  }
}

/**
 * Person tokens interned to numbers 0, 1, … without a string or a Map entry of the JavaScript heap
 * per person: the tokens' UTF-8 bytes in one growable buffer, found through an open-addressing table
 * of their numbers (FNV-1a over the bytes, linear probing, at most half full). At a million persons
 * a Map of copied tokens took ~100 MB of the worker's 192 MB heap and the release's verification ran
 * out of it; here they are ~40 MB of buffers outside the heap (a 32-character token).
 */
export class TokenIndex {
  private bytes = new Uint8Array(1 << 16);
  private used = 0;
  private readonly start = new Ints();
  private slots = new Int32Array(1 << 10).fill(NONE);
  private readonly scratch = new Uint8Array(1024);
  private static readonly encoder = new TextEncoder();

  get size(): number {
    return this.start.length;
  }

  /** The number of `token`: the one it was given when first seen, else the next. */
  intern(token: string): number {
    // The token's UTF-8 bytes: its character codes where it is ASCII (no copy), else encoded.
    let ascii = true;
    for (let i = 0; i < token.length && ascii; i++) ascii = token.charCodeAt(i) < 0x80;
    let src: Uint8Array | undefined;
    let n = token.length;
    if (!ascii) {
      src = n * 3 <= this.scratch.length ? this.scratch : new Uint8Array(n * 3);
      n = TokenIndex.encoder.encodeInto(token, src).written;
    }
    const byte = (i: number) => (src ? src[i] : token.charCodeAt(i));
    let h = 0x811c9dc5;
    for (let i = 0; i < n; i++) h = Math.imul(h ^ byte(i), 0x01000193);
    const mask = this.slots.length - 1;
    let s = h & mask;
    for (let id = this.slots[s]; id !== NONE; s = (s + 1) & mask, id = this.slots[s]) {
      const from = this.start.data[id];
      const to = id + 1 < this.start.length ? this.start.data[id + 1] : this.used;
      if (to - from !== n) continue;
      let i = 0;
      while (i < n && this.bytes[from + i] === byte(i)) i++;
      if (i === n) return id;
    }
    if (this.used + n > this.bytes.length) {
      const next = new Uint8Array(Math.max(Math.ceil(this.bytes.length * 1.5), this.used + n));
      next.set(this.bytes.subarray(0, this.used));
      this.bytes = next;
    }
    for (let i = 0; i < n; i++) this.bytes[this.used + i] = byte(i);
    const id = this.start.push(this.used);
    this.used += n;
    this.slots[s] = id;
    if (this.start.length * 2 > this.slots.length) this.rehash();
    return id;
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2).fill(NONE);
    const mask = slots.length - 1;
    for (let id = 0; id < this.start.length; id++) {
      const from = this.start.data[id];
      const to = id + 1 < this.start.length ? this.start.data[id + 1] : this.used;
      let h = 0x811c9dc5;
      for (let i = from; i < to; i++) h = Math.imul(h ^ this.bytes[i], 0x01000193);
      let s = h & mask;
      while (slots[s] !== NONE) s = (s + 1) & mask;
      slots[s] = id;
    }
    this.slots = slots;
  }
}

/**
 * The verifier's kᵐ-anonymity check (SPEC §5 step 5), its own code: it reads only what the files
 * show. Every person (token) is gathered across the files with the quasi-identifiers shown of them
 * and the items of their rows; every set of at most m of a person's items must be carried by at
 * least k persons of the same class.
 *
 * Memory is compact and independent of the rows: item texts, values and person tokens are interned
 * to integers (the tokens in a `TokenIndex`, outside the JavaScript heap); a person is a row of typed
 * arrays (a value id per quasi-identifier slot, the head of their item list), and their distinct
 * items a linked list in two Int32Arrays (item, next) — about 8 bytes per distinct item of a person
 * and 28 per person, beside the token's bytes and 8-16 bytes of its table. The sets are counted
 * one class at a time (persons ordered by class first), in a Map keyed by the packed item numbers,
 * so only one class's sets are held at once.
 */
export class KmSets {
  private readonly items = new Map<string, number>();
  private readonly values = new Map<string, number>();
  /** Person tokens interned, and the person each names. */
  private readonly tokens = new TokenIndex();
  private readonly personOfToken = new Ints();
  /** Per person: value ids of the quasi-identifier slots (NONE: not shown), head of the item list. */
  private qi = new Int32Array(1024 * SLOTS).fill(NONE);
  private readonly head = new Ints();
  /** Per (person, item) entry: the item and the person's next entry. */
  private readonly entryItem = new Ints();
  private readonly entryNext = new Ints();

  /**
   * A row: its person (undefined where the file has no person column: the row is a person of its
   * own), `qi` the [column, value] pairs of the quasi-identifier columns the row's file shows.
   */
  add(person: string | undefined, qi: [string, string][], item: string): void {
    let id = this.items.get(item);
    if (id === undefined) this.items.set(copyOf(item), (id = this.items.size));
    // A token's bytes are copied into the index: no slice of the file's text (which would keep
    // its whole chunk alive) is kept.
    const known = this.tokens.size;
    const t = person === undefined ? NONE : this.tokens.intern(person);
    let p = t === NONE || t === known ? NONE : this.personOfToken.data[t];
    if (p === NONE) {
      p = this.head.push(NONE);
      if (t !== NONE) this.personOfToken.push(p);
      if ((p + 1) * SLOTS > this.qi.length) {
        const next = new Int32Array(this.qi.length * 2).fill(NONE);
        next.set(this.qi);
        this.qi = next;
      }
    }
    for (const [c, v] of qi) {
      const slot = PERSON_QUASI_IDENTIFIER_COLUMNS.indexOf(c);
      // `*` tells an attacker no more than a column not shown: both leave the slot open.
      if (slot < 0 || v === '*') continue;
      let vid = this.values.get(v);
      if (vid === undefined) this.values.set(copyOf(v), (vid = this.values.size));
      this.qi[p * SLOTS + slot] = vid;
    }
    for (let e = this.head.data[p]; e !== NONE; e = this.entryNext.data[e])
      if (this.entryItem.data[e] === id) return;
    this.entryItem.push(id);
    this.head.data[p] = this.entryNext.push(this.head.data[p]);
  }

  get size(): number {
    return this.head.length;
  }

  /** The number of sets (of at most m items, within a class) carried by fewer than k persons. */
  smallSets(k: number, m: number): number {
    const persons = this.head.length;
    // A person's class: the slots their files show other than as `*` (a column not shown, or shown
    // as `*`, is not part of the class: an attacker learns nothing from it), numbered; persons ordered by class (a counting sort).
    const classIds = new Map<string, number>();
    const classOf = new Int32Array(persons);
    for (let p = 0; p < persons; p++) {
      const key = Array.from(this.qi.subarray(p * SLOTS, p * SLOTS + SLOTS)).join(',');
      let c = classIds.get(key);
      if (c === undefined) classIds.set(key, (c = classIds.size));
      classOf[p] = c;
    }
    const start = new Int32Array(classIds.size + 1);
    for (let p = 0; p < persons; p++) start[classOf[p] + 1]++;
    for (let c = 0; c < classIds.size; c++) start[c + 1] += start[c];
    const order = new Int32Array(persons);
    const fill = start.slice(0, classIds.size);
    for (let p = 0; p < persons; p++) order[fill[classOf[p]]++] = p;

    // Sets packed into one number (item numbers in base n + 1, 0 for "none") where that is exact;
    // else text keys.
    const base = this.items.size + 1;
    const packed = Math.pow(base, m) < Number.MAX_SAFE_INTEGER;
    const support = new Map<number | string, number>();
    const items: number[] = [];
    let small = 0;
    for (let c = 0; c < classIds.size; c++) {
      support.clear();
      for (let i = start[c]; i < start[c + 1]; i++) {
        const p = order[i];
        items.length = 0;
        for (let e = this.head.data[p]; e !== NONE; e = this.entryNext.data[e])
          items.push(this.entryItem.data[e]);
        items.sort((a, b) => a - b);
        const walk = (from: number, key: number, text: string, size: number) => {
          for (let j = from; j < items.length; j++) {
            const nk = key * base + items[j] + 1;
            const nt = packed ? '' : `${text},${items[j]}`;
            const s = packed ? nk : nt;
            support.set(s, (support.get(s) ?? 0) + 1);
            if (size + 1 < m) walk(j + 1, nk, nt, size + 1);
          }
        };
        walk(0, 0, '', 0);
      }
      for (const n of support.values()) if (n < k) small++;
    }
    support.clear();
    return small;
  }
}
