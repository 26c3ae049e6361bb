/** Statistics of row order in released files, for the tests of #27 (rows carry no person grouping). */

/** Persons' rows next to each other, and what a random order would give (expected count). */
export function sameNeighbours(persons: number[]): { seen: number; chance: number } {
  let seen = 0;
  for (let i = 1; i < persons.length; i++) if (persons[i] === persons[i - 1]) seen++;
  const n = new Map<number, number>();
  for (const p of persons) n.set(p, (n.get(p) ?? 0) + 1);
  let pairs = 0;
  for (const c of n.values()) pairs += c * (c - 1);
  return { seen, chance: pairs / Math.max(persons.length, 1) };
}

/** Spearman's rank correlation of the persons' first positions in two files (persons in both). */
export function alignment(a: number[], b: number[]): number {
  const first = (xs: number[]) => {
    const m = new Map<number, number>();
    xs.forEach((p, i) => m.has(p) || m.set(p, i));
    return m;
  };
  const fa = first(a);
  const fb = first(b);
  const both = [...fa.keys()].filter((p) => fb.has(p));
  const rank = (m: Map<number, number>) => {
    const order = [...both].sort((x, y) => m.get(x)! - m.get(y)!);
    return new Map(order.map((p, i) => [p, i]));
  };
  const ra = rank(fa);
  const rb = rank(fb);
  const n = both.length;
  let d2 = 0;
  for (const p of both) d2 += (ra.get(p)! - rb.get(p)!) ** 2;
  return 1 - (6 * d2) / (n * (n * n - 1));
}
