import { PERSON_QUASI_IDENTIFIER_COLUMNS } from './verifier-rules';

/**
 * The verifier's kᵐ-anonymity check (SPEC §5 step 5), its own code: it reads only what the files
 * show. Every person (token) is gathered across the files with the quasi-identifiers shown of them
 * and the items of their rows; every set of at most m of a person's items must be carried by at
 * least k persons of the same class. Items and values are interned (memory: per person four value
 * slots and an array of item numbers; one counter per distinct set).
 */
export class KmSets {
  private readonly items = new Map<string, number>();
  private readonly values = new Map<string, string>();
  private readonly persons = new Map<string, { qi: (string | undefined)[]; items: number[] }>();

  /** `qi`: [column, value] pairs of the quasi-identifier columns the row's file shows. */
  add(person: string, qi: [string, string][], item: string): void {
    let id = this.items.get(item);
    if (id === undefined) this.items.set(item, (id = this.items.size));
    let p = this.persons.get(person);
    if (!p) this.persons.set(person, (p = { qi: [], items: [] }));
    for (const [c, v] of qi) {
      const slot = PERSON_QUASI_IDENTIFIER_COLUMNS.indexOf(c);
      let shared = this.values.get(v);
      if (shared === undefined) this.values.set(v, (shared = v));
      if (slot >= 0) p.qi[slot] = shared;
    }
    if (!p.items.includes(id)) p.items.push(id);
  }

  get size(): number {
    return this.persons.size;
  }

  /** The number of sets (of at most m items, within a class) carried by fewer than k persons. */
  smallSets(k: number, m: number): number {
    const classes = new Map<string, number>();
    const support = new Map<string, number>();
    for (const p of this.persons.values()) {
      // A column a person's files do not show is not part of their class (an attacker cannot see it).
      const clsKey = PERSON_QUASI_IDENTIFIER_COLUMNS.map((c, i) =>
        p.qi[i] === undefined ? '' : `${c}=${p.qi[i]}`,
      ).join('\u0001');
      let cls = classes.get(clsKey);
      if (cls === undefined) classes.set(clsKey, (cls = classes.size));
      const items = [...p.items].sort((a, b) => a - b);
      const walk = (from: number, prefix: number[]) => {
        for (let i = from; i < items.length; i++) {
          const set = [...prefix, items[i]];
          const key = `${cls}:${set.join(',')}`;
          support.set(key, (support.get(key) ?? 0) + 1);
          if (set.length < m) walk(i + 1, set);
        }
      };
      walk(0, []);
    }
    let small = 0;
    for (const n of support.values()) if (n < k) small++;
    return small;
  }
}
