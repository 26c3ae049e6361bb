/**
 * A small seeded PRNG (sfc32, seeded through splitmix32). Every synthetic person gets its own
 * generator derived from (seed, person index), so any person can be regenerated on its own and the
 * output never depends on how many random numbers something else drew.
 */

/** splitmix32: a 32-bit integer hash, good enough to derive independent seeds. */
export function mix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** `seed` and `stream` select independent sequences (e.g. the run seed and a person index). */
  constructor(seed: number, stream = 0) {
    const s = mix32(seed ^ mix32(stream + 0x51ed27));
    this.a = mix32(s);
    this.b = mix32(this.a ^ 0x2545f491);
    this.c = mix32(this.b ^ 0x1b873593);
    this.d = mix32(this.c ^ stream);
    for (let i = 0; i < 8; i++) this.u32();
  }

  /** A uniform unsigned 32-bit integer. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A uniform float in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A uniform integer in [lo, hi] (inclusive). */
  between(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** Approximately standard normal (sum of four uniforms, scaled): cheap and bounded. */
  normal(mean: number, sd: number): number {
    const s = this.next() + this.next() + this.next() + this.next() - 2;
    return mean + sd * s * 1.7320508;
  }

  /** A geometric count of extra occurrences with the given mean (0, 1, 2, …). */
  geometric(mean: number): number {
    if (mean <= 0) return 0;
    const p = 1 / (1 + mean);
    return Math.floor(Math.log(1 - this.next()) / Math.log(1 - p));
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex32(x: number): string {
  return HEX[x >>> 24] + HEX[(x >>> 16) & 255] + HEX[(x >>> 8) & 255] + HEX[x & 255];
}

/** A random (version 4 shaped) UUID drawn from the generator. */
export function uuid(rng: Rng): string {
  const a = hex32(rng.u32());
  const b = hex32(rng.u32());
  const c = hex32(rng.u32());
  const d = hex32(rng.u32());
  const variant = '89ab'[rng.u32() & 3];
  return `${a}-${b.slice(0, 4)}-4${b.slice(5, 8)}-${variant}${c.slice(1, 4)}-${c.slice(4)}${d}`;
}

/** Picks items by weight (binary search over cumulative weights). */
export class Weighted<T> {
  private readonly cum: Float64Array;
  readonly total: number;

  constructor(
    readonly items: readonly T[],
    weights: readonly number[],
  ) {
    if (items.length === 0 || items.length !== weights.length) throw new Error('weighted: bad table');
    this.cum = new Float64Array(weights.length);
    let acc = 0;
    weights.forEach((w, i) => {
      acc += Math.max(0, w);
      this.cum[i] = acc;
    });
    this.total = acc;
    if (acc <= 0) throw new Error('weighted: all weights are zero');
  }

  pick(rng: Rng): T {
    const x = rng.next() * this.total;
    let lo = 0;
    let hi = this.cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cum[mid] > x) hi = mid;
      else lo = mid + 1;
    }
    return this.items[lo];
  }

  static of<T extends { w: number }>(rows: readonly T[]): Weighted<T> {
    return new Weighted(
      rows,
      rows.map((r) => r.w),
    );
  }
}
