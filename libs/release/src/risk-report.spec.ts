import fc from 'fast-check';
import { roundToBase } from './disclosure-control';
import { publicRiskReport, type RiskReport } from './risk-report';

const report = (f: { persons: number; uniquePersons: number; smallestClass: number }, linked: number[]) =>
  ({
    version: 1,
    tier: 'anonymised',
    computedAt: '2026-12-06T00:00:00Z',
    suppressed: 0,
    files: [
      {
        file: 'gp.csv.gz',
        dataset: 'gp',
        personColumn: 'person_token',
        quasiIdentifiers: ['age_band'],
        ...f,
        uniqueShare: 0,
        prosecutorRisk: f.smallestClass ? 1 / f.smallestClass : 0,
        suppressed: 0,
      },
    ],
    linkage: [
      {
        dataset: 'hes',
        rows: linked.reduce((a, b) => a + b, 0),
        byStep: Object.fromEntries(linked.slice(1).map((n, i) => [String(i + 1), n])),
        unlinked: linked[0],
      },
    ],
  }) as unknown as RiskReport;

describe('the public risk report tells no more than its rounded counts', () => {
  it('prosecutor risk of the smallest class as shown: a class of 13 (shown 15) is 7%, not 8% (12 or 13)', () => {
    const f = publicRiskReport(report({ persons: 100, uniquePersons: 0, smallestClass: 13 }, [0])).files[0];
    expect(f).toMatchObject({ smallestClass: 15, prosecutorRisk: 7 });
  });

  it('property: every figure is a function of the counts as shown (two exact counts that round alike give one report)', () => {
    const count = fc.integer({ min: 0, max: 400 });
    fc.assert(
      fc.property(
        count,
        count,
        count,
        fc.array(count, { minLength: 2, maxLength: 4 }),
        (persons, unique, smallest, linked) => {
          const jitter = (n: number) => (n <= 7 ? n : roundToBase(n) + ((n * 7) % 3) - 1);
          const a = publicRiskReport(
            report({ persons, uniquePersons: unique, smallestClass: smallest }, linked),
          );
          const b = publicRiskReport(
            report(
              { persons: jitter(persons), uniquePersons: jitter(unique), smallestClass: jitter(smallest) },
              linked.map(jitter),
            ),
          );
          // Only counts that round to the same shown value are compared.
          const alike = (n: number, j: number) =>
            n <= 7 ? j === n : j > 7 && roundToBase(j) === roundToBase(n);
          const sum = (xs: number[]) => xs.reduce((x, y) => x + y, 0);
          const same =
            [persons, unique, smallest, ...linked].every((n) => alike(n, jitter(n))) &&
            alike(sum(linked), sum(linked.map(jitter)));
          if (same) expect({ ...b, computedAt: '' }).toEqual({ ...a, computedAt: '' });
        },
      ),
      { numRuns: 2000 },
    );
  });
});
