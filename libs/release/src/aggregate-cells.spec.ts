import fc from 'fast-check';
import { AGG_MAX_CELLS, crossProductCells, crossProductSize } from './aggregate-cells';
import { Cell, PRIMARY_MAX, protectCells } from './disclosure-control';
import { aggregateCellProblem, crossProductProblem, loneSuppressedCell } from './verifier/verifier-rules';

/** Persons with a value per dimension (a person may hold several values of a dimension: events). */
const populationArb = fc.array(
  fc.record({
    sex: fc.constantFrom('F', 'M'),
    years: fc.uniqueArray(fc.constantFrom('2010', '2011', '2012', '2013'), { minLength: 1, maxLength: 3 }),
    codes: fc.uniqueArray(fc.constantFrom('A', 'B', 'C'), { minLength: 1, maxLength: 2 }),
  }),
  { minLength: 1, maxLength: 120 },
);
type Person = { sex: string; years: string[]; codes: string[] };

/** What the engine's SQL gives: domains (values present), and distinct persons per non-empty cell. */
function tabulate(people: Person[]): { domains: string[][]; counts: Cell[] } {
  const counts = new Map<string, Cell>();
  for (const p of people)
    for (const y of p.years)
      for (const c of p.codes) {
        const key = [p.sex, y, c];
        const k = key.join('|');
        const cell = counts.get(k) ?? { key, count: 0 };
        cell.count++;
        counts.set(k, cell);
      }
  const domain = (f: (p: Person) => string[]) => [...new Set(people.flatMap(f))].sort();
  return {
    domains: [domain((p) => [p.sex]), domain((p) => p.years), domain((p) => p.codes)],
    counts: [...counts.values()],
  };
}

describe('aggregate cells: the full cross-product', () => {
  it('an example: the empty cells are there, shown as *', () => {
    const cells = crossProductCells(
      [
        ['F', 'M'],
        ['2012', '2013'],
      ],
      [
        { key: ['F', '2012'], count: 40 },
        { key: ['M', '2013'], count: 55 },
      ],
    );
    expect(cells.map((c) => [...c.key, c.count].join(' '))).toEqual([
      'F 2012 40',
      'F 2013 0',
      'M 2012 0',
      'M 2013 55',
    ]);
    // An empty cell is suppressed like 1-7, so a lone one in a row is protected like them too
    // (otherwise a `*` with no partner in its row would mean "nobody").
    expect(protectCells(cells).map((c) => c.shown)).toEqual(['*', '*', '*', '*']);
  });

  it('refuses a counted cell outside the domains, and a table past AGG_MAX_CELLS', () => {
    expect(() => crossProductCells([['F']], [{ key: ['M'], count: 9 }])).toThrow();
    const big = [
      Array.from({ length: 1001 }, (_, i) => `${i}`),
      Array.from({ length: 1000 }, (_, i) => `${i}`),
    ];
    expect(crossProductSize(big)).toBeGreaterThan(AGG_MAX_CELLS);
    expect(() => crossProductCells(big, [])).toThrow(RangeError);
  });

  it('property: every cell of the cross-product once; 0-7 is *, never a count; the verifier agrees', () => {
    fc.assert(
      fc.property(populationArb, (people) => {
        const { domains, counts } = tabulate(people);
        const cells = crossProductCells(domains, counts);
        expect(cells).toHaveLength(crossProductSize(domains));
        const shown = protectCells(cells);
        for (const [i, c] of shown.entries()) {
          if (cells[i].count <= PRIMARY_MAX) expect(c.shown).toBe('*');
          expect(aggregateCellProblem(String(c.shown))).toBeUndefined();
        }
        expect(crossProductProblem(shown.map((c) => c.key))).toBeUndefined();
        expect(
          loneSuppressedCell(shown.map((c) => ({ key: c.key, suppressed: c.shown === '*' }))),
        ).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  it("property: one person's presence changes no cell's key, and no * where the others' counts are all small", () => {
    fc.assert(
      fc.property(populationArb, fc.nat(), (people, pick) => {
        const target = people[pick % people.length];
        const others = people.filter((p) => p !== target);
        const a = tabulate(people);
        const b = tabulate(others);
        // Where the target's removal leaves the domains as they were (the engine refuses values of
        // fewer than AGG_MIN_POPULATION persons, so one person never makes a value), the table has
        // the same cells with and without them.
        fc.pre(JSON.stringify(a.domains) === JSON.stringify(b.domains));
        const keysA = crossProductCells(a.domains, a.counts).map((c) => c.key.join('|'));
        const keysB = crossProductCells(b.domains, b.counts).map((c) => c.key.join('|'));
        expect(keysA).toEqual(keysB);
      }),
      { numRuns: 300 },
    );
  });
});
