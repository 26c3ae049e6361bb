import fc from 'fast-check';
import {
  CODE_LEVELS,
  generaliseCode,
  generalisePeriod,
  icd10Chapter,
  KM_NODES,
  KM_TOP,
  kmWithinBudget,
  nodesOfHeight,
  PERIOD_LEVELS,
} from './km-anonymity';

describe('kᵐ-anonymity ladders and choice', () => {
  it('the lattice heights hold every (code, period) node exactly once, finest code first', () => {
    const all = Array.from({ length: KM_TOP + 1 }, (_, h) => nodesOfHeight(h)).flat();
    expect(all).toHaveLength(CODE_LEVELS.length * PERIOD_LEVELS.length);
    expect(new Set(all.map((n) => `${n.code}:${n.period}`)).size).toBe(all.length);
    expect(nodesOfHeight(2)).toEqual([
      { code: 0, period: 2 },
      { code: 1, period: 1 },
      { code: 2, period: 0 },
    ]);
  });

  it('each class tries the nodes from the finest to every code and period `*`, each once, never a coarser before a finer of its height', () => {
    expect(KM_NODES[0]).toEqual({ code: 0, period: 0 });
    expect(KM_NODES[KM_NODES.length - 1]).toEqual({ code: 3, period: 2 });
    expect(new Set(KM_NODES.map((n) => `${n.code}:${n.period}`)).size).toBe(12);
    for (let i = 1; i < KM_NODES.length; i++)
      expect(KM_NODES[i].code + KM_NODES[i].period).toBeGreaterThanOrEqual(
        KM_NODES[i - 1].code + KM_NODES[i - 1].period,
      );
  });

  it.each([
    ['readv2', 'H33..', ['H33..', 'H33', 'H', '*']],
    ['readv2', 'G30z1', ['G30z1', 'G30', 'G', '*']],
    ['icd10', 'I63.9', ['I63.9', 'I63', 'IX', '*']],
    ['icd10', 'S72.0', ['S72.0', 'S72', 'XIX', '*']],
    ['icd10', 'H66.9', ['H66.9', 'H66', 'VIII', '*']],
    ['icd10', 'D50.0', ['D50.0', 'D50', 'III', '*']],
    ['opcs4', 'W371', ['W371', 'W37', 'W', '*']],
    ['snomed', '22298006', ['22298006', 'snomed', 'snomed', '*']],
    ['service_type', 'home_care', ['home_care', 'home_care', '*', '*']],
  ])('%s %s climbs its ladder', (system, code, want) => {
    expect([0, 1, 2, 3].map((l) => generaliseCode(system, code, l))).toEqual(want);
  });

  it('periods: year and month, year, none; a missing date stays missing below none', () => {
    expect([0, 1, 2].map((l) => generalisePeriod('2013-06-01', l))).toEqual(['2013-06', '2013', '*']);
    expect(generalisePeriod(null, 1)).toBeNull();
    expect(generalisePeriod(null, 2)).toBe('*');
  });

  it('ICD-10 codes have a chapter (or *, outside every chapter: coarser, never finer); the ladder only coarsens', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...'ABCEFGIJKLMNOQRSTZ'.split('')),
        fc.integer({ min: 0, max: 99 }),
        (letter, n) => {
          const code = `${letter}${String(n).padStart(2, '0')}.1`;
          expect(icd10Chapter(code)).toMatch(/^([IVX]+|\*)$/);
          if (n <= 48) expect(icd10Chapter(code)).not.toBe('*');
          // Two codes equal at a level stay equal above it.
          const other = `${letter}${String(n).padStart(2, '0')}.7`;
          for (let l = 1; l <= 3; l++)
            expect(generaliseCode('icd10', code, l)).toBe(generaliseCode('icd10', other, l));
        },
      ),
    );
  });

  it("the budget is per file: at most the share of each file's event rows", () => {
    const rows = { gp: 1000, hes: 100 };
    expect(kmWithinBudget({ suppressedByFile: { gp: 50, hes: 5 } }, rows, 0.05)).toBe(true);
    expect(kmWithinBudget({ suppressedByFile: { gp: 0, hes: 6 } }, rows, 0.05)).toBe(false);
    expect(kmWithinBudget({ suppressedByFile: {} }, { gp: 0 }, 0.05)).toBe(true);
  });
});
