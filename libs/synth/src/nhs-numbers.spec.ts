import fc from 'fast-check';
import { isValidNhsNumber } from '@custodian/core';
import { NHS_NUMBER_CAPACITY, NhsNumbers, STEM_SPACE } from './nhs-numbers';

describe('NhsNumbers', () => {
  it('gives valid, distinct numbers starting with 9 for consecutive indices', () => {
    const nhs = new NhsNumbers(42);
    const seen = new Set<string>();
    const bad: string[] = [];
    for (let i = 0; i < 50_000; i++) {
      const n = nhs.of(i);
      if (!isValidNhsNumber(n) || n[0] !== '9') bad.push(n);
      seen.add(n);
    }
    expect(bad).toEqual([]);
    expect(seen.size).toBe(50_000);
  });

  it('is a pure function of (seed, index), and the seed changes the numbers', () => {
    expect(new NhsNumbers(7).of(12345)).toBe(new NhsNumbers(7).of(12345));
    expect(new NhsNumbers(7).of(12345)).not.toBe(new NhsNumbers(8).of(12345));
  });

  it('property: every index in range gives a valid number; distinct indices give distinct numbers', () => {
    fc.assert(
      fc.property(
        fc.nat(),
        fc.integer({ min: 0, max: NHS_NUMBER_CAPACITY - 1 }),
        fc.integer({ min: 0, max: NHS_NUMBER_CAPACITY - 1 }),
        (seed, i, j) => {
          const nhs = new NhsNumbers(seed);
          expect(isValidNhsNumber(nhs.of(i))).toBe(true);
          if (i !== j) expect(nhs.of(i)).not.toBe(nhs.of(j));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('keeps numbers apart across the stem boundary (same stem, different ninth digit)', () => {
    const nhs = new NhsNumbers(3);
    const a = nhs.of(5);
    const b = nhs.of(5 + STEM_SPACE);
    expect(a.slice(0, 8)).toBe(b.slice(0, 8));
    expect(a).not.toBe(b);
  });

  it('refuses indices out of range', () => {
    expect(() => new NhsNumbers(1).of(-1)).toThrow(RangeError);
    expect(() => new NhsNumbers(1).of(NHS_NUMBER_CAPACITY)).toThrow(RangeError);
  });
});
