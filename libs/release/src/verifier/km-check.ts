import { PERSON_QUASI_IDENTIFIER_COLUMNS } from './verifier-rules';

const SLOTS = PERSON_QUASI_IDENTIFIER_COLUMNS.length;
const NONE = -1;

/** A string's own copy (V8 keeps a substring as a slice of its parent, which it then keeps alive). */
const flat = (s: string): string => Buffer.from(s, 'utf8').toString('utf8');

/** A growable Int32Array (the persons' and items' columns below). */
class Ints {
  data = new Int32Array(1024);
  length = 0;
  push(v: number): number {
    if (this.length === this.data.length) {
      const next = new Int32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length] = v;
    return this.length++;
  }
}

/**
 * The verifier's kᵐ-anonymity check (SPEC §5 step 5), its own code: it reads only what the files
 * show. Every person (token) is gathered across the files with the quasi-identifiers shown of them
 * and the items of their rows; every set of at most m of a person's items must be carried by at
 * least k persons of the same class.
 *
 * Memory is compact and independent of the rows: item texts, values and person tokens are interned
 * to integers; a person is a row of typed arrays (a value id per quasi-identifier slot, the head of
 * their item list), and their distinct items a linked list in two Int32Arrays (item, next) — about
 * 8 bytes per distinct item of a person and 28 per person, beside the token. The sets are counted
 * one class at a time (persons ordered by class first), in a Map keyed by the packed item numbers,
 * so only one class's sets are held at once.
 */
export class KmSets {
  private readonly items = new Map<string, number>();
  private readonly values = new Map<string, number>();
  private readonly tokens = new Map<string, number>();
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
    if (id === undefined) this.items.set(flat(item), (id = this.items.size));
    let p = person === undefined ? undefined : this.tokens.get(person);
    if (p === undefined) {
      p = this.head.push(NONE);
      // A copy of the token, not the slice of the file's text it came as (a slice keeps its whole
      // chunk of the file alive: every chunk, held through the persons' tokens).
      if (person !== undefined) this.tokens.set(flat(person), p);
      if ((p + 1) * SLOTS > this.qi.length) {
        const next = new Int32Array(this.qi.length * 2).fill(NONE);
        next.set(this.qi);
        this.qi = next;
      }
    }
    for (const [c, v] of qi) {
      const slot = PERSON_QUASI_IDENTIFIER_COLUMNS.indexOf(c);
      if (slot < 0) continue;
      let vid = this.values.get(v);
      if (vid === undefined) this.values.set(flat(v), (vid = this.values.size));
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
    // A person's class: the slots their files show (a column not shown is not part of the class: an
    // attacker cannot see it), numbered; persons ordered by class (a counting sort).
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
