import fc from 'fast-check';
import { AUDIT_SAMPLE, auditProblem, binomialTail } from './suppression-audit';

/**
 * The suppression audit (#19): an engine that records its removals exactly is never refused; one
 * that records far fewer than it made is.
 */
describe('verifier: suppression audit', () => {
  it('binomialTail agrees with the sum of the probabilities it stands for', () => {
    // Binomial(10, 0.3): P(X >= 4) = 0.3503892816
    expect(binomialTail(10, 0.3, 4)).toBeCloseTo(0.3503892816, 9);
    expect(binomialTail(10, 0.3, 0)).toBe(1);
    expect(binomialTail(10, 0, 1)).toBe(0);
    expect(binomialTail(2000, 0.05, 11)).toBeGreaterThan(0.999);
    expect(binomialTail(2000, 0.01, 100)).toBeLessThan(1e-20);
  });

  /** A file of `n` persons with rows, `removed` of them (chosen by `pick`) left out, sampled as the verifier samples. */
  function file(n: number, removed: number, pick: number[], sample: number[]) {
    const ids = Array.from({ length: n }, (_, i) => `p${i}`);
    const gone = new Set(pick.slice(0, removed).map((i) => ids[i % n]));
    const drawn = new Map(sample.slice(0, AUDIT_SAMPLE).map((i) => [ids[i % n], true]));
    const seen = new Set([...drawn.keys()].filter((id) => !gone.has(id)));
    return { drawn, seen, persons: n - gone.size, removed: gone.size };
  }

  it('never refuses an engine that recorded its removals exactly (random files and samples)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 20, max: 4000 }),
        fc.double({ min: 0, max: 0.3, noNaN: true }),
        fc.array(fc.nat(), { minLength: 1300, maxLength: 1300 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 2500 }),
        (n, share, pick, sample) => {
          const f = file(n, Math.floor(n * share), pick, sample);
          expect(auditProblem(f.drawn, f.seen, f.persons, f.removed, 0.3)).toBeUndefined();
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses an engine that recorded a fraction of what it removed, and a person with no rows in the file', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2000, max: 5000 }),
        fc.array(fc.nat(), { minLength: 1300, maxLength: 1300 }),
        fc.uniqueArray(fc.nat({ max: 4999 }), { minLength: 2000, maxLength: 2000 }),
        (n, pick, sample) => {
          const removed = Math.floor(n * 0.2);
          const f = file(n, removed, pick, sample);
          // It says it removed a quarter of what it did.
          expect(
            auditProblem(f.drawn, f.seen, f.persons + f.removed, Math.floor(f.removed / 4), 0.3),
          ).toMatch(/far more than the suppression the release recorded/);
        },
      ),
      { numRuns: 50 },
    );
    const drawn = new Map([
      ['a', true],
      ['b', false],
    ]);
    expect(auditProblem(drawn, new Set(['a', 'b']), 2, 0, 0.05)).toMatch(/no rows of the dataset/);
  });

  it('refuses absences that show, beyond doubt, more removed than the cap allows, whatever the engine recorded', () => {
    // 2,000 persons with rows, a fifth of them absent; the engine says it removed 19% (so the first
    // test, against its own count, is passed), with a cap of 5%.
    const drawn = new Map(Array.from({ length: 2000 }, (_, i) => [`p${i}`, true]));
    const seen = new Set([...drawn.keys()].slice(400));
    expect(auditProblem(drawn, seen, 1600, 375, 0.05)).toMatch(/more than the suppression cap allows/);
    expect(auditProblem(drawn, seen, 1600, 375, 0.25)).toBeUndefined();
  });
});
