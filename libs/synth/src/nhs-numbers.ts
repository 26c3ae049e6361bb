/**
 * Deterministic, unique, valid NHS numbers for person indices.
 *
 * Every number starts with 9 (the range NHS England uses for test data, so a synthetic number is
 * never a real patient's). Index i maps to an 8-digit stem `9 + perm(i mod P)`, where perm is a
 * seeded affine bijection on [0, P) (P prime, below 10^7) that scatters neighbouring indices, and
 * to the floor(i / P)-th ninth digit for which the Modulus 11 check digit is not 10: for any stem
 * the ten possible ninth digits give ten different remainders, so at most one of them is unusable
 * and at least nine remain. Distinct indices therefore give distinct numbers, and every number
 * passes Modulus 11.
 */

/** The largest prime below 10^7: the size of the stem permutation. */
export const STEM_SPACE = 9_999_991;
/** How many distinct numbers the scheme can produce. */
export const NHS_NUMBER_CAPACITY = STEM_SPACE * 9;

const WEIGHTS = [10, 9, 8, 7, 6, 5, 4, 3, 2];

export class NhsNumbers {
  private readonly mul: number;
  private readonly add: number;

  constructor(seed: number) {
    // Any multiplier in [1, P) is a bijection mod a prime.
    this.mul = 1 + ((Math.abs(Math.imul(seed, 0x2c1b3c6d) ^ 0x5bd1e995) >>> 0) % (STEM_SPACE - 2));
    this.add = (Math.abs(Math.imul(seed ^ 0x68e31da4, 0x297a2d39)) >>> 0) % STEM_SPACE;
  }

  /** The NHS number of person index `i` (0 ≤ i < NHS_NUMBER_CAPACITY). */
  of(i: number): string {
    if (!Number.isInteger(i) || i < 0 || i >= NHS_NUMBER_CAPACITY)
      throw new RangeError('person index out of range');
    const k = i % STEM_SPACE;
    const slot = Math.floor(i / STEM_SPACE);
    // (k * mul + add) mod P without losing precision: k, mul < 2^24, product < 2^48.
    const stemTail = (k * this.mul + this.add) % STEM_SPACE;
    const stem = `9${String(stemTail).padStart(7, '0')}`;
    let sum = 0;
    for (let d = 0; d < 8; d++) sum += (stem.charCodeAt(d) - 48) * WEIGHTS[d];
    let seen = 0;
    for (let ninth = 0; ninth <= 9; ninth++) {
      const total = sum + ninth * 2;
      const check = 11 - (total % 11);
      if (check === 10) continue;
      if (seen++ === slot) return `${stem}${ninth}${check === 11 ? 0 : check}`;
    }
    throw new Error('unreachable: every stem has at least nine usable ninth digits');
  }
}
