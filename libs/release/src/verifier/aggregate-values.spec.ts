import type { ValueCount } from './aggregate-recount';
import { valuesProblem } from './aggregate-values';

/** A population: each person's cells (one value per dimension each), counted as the SQL would. */
function model(persons: string[][][]) {
  const calls: { within: string[][] | null; kept: string[][] }[] = [];
  const among = (cell: string[], sets: string[][] | null) =>
    !sets || cell.every((v, d) => sets[d].includes(v));
  const count = async (q: { within: string[][] | null; kept: string[][] }): Promise<ValueCount[]> => {
    calls.push(q);
    const out = new Map<string, ValueCount>();
    const add = (dimension: number, value: string, cells: string[][]) => {
      const k = `${dimension}:${value}`;
      const c = out.get(k) ?? { dimension, value, within: 0, kept: 0 };
      if (cells.some((x) => among(x, q.within))) c.within++;
      if (cells.some((x) => among(x, q.kept))) c.kept++;
      out.set(k, c);
    };
    for (const p of persons) {
      add(-1, '', p);
      for (let d = 0; d < p[0].length; d++)
        for (const v of new Set(p.map((x) => x[d])))
          add(
            d,
            v,
            p.filter((x) => x[d] === v),
          );
    }
    return [...out.values()];
  };
  return { count, calls };
}
const many = (n: number, cells: string[][]) => Array.from({ length: n }, () => cells);
const table = (...keys: string[][]) => keys.map((key) => ({ key }));
const at10 = () => 10;

describe('aggregate values against the minimum population (verifier)', () => {
  it('accepts the largest set of values meeting their thresholds, with one count for a table that left nothing out', async () => {
    const m = model([...many(12, [['F', '2020']]), ...many(11, [['M', '2020']])]);
    expect(
      await valuesProblem(['sex', 'year'], table(['F', '2020'], ['M', '2020']), m.count, at10),
    ).toBeUndefined();
    expect(m.calls).toHaveLength(1);
  });

  it('accepts a cascade: M under 10 left out, then 2021 (10 persons, 6 of them M) too', async () => {
    const m = model([
      ...many(6, [['M', '2021']]),
      ...many(4, [
        ['F', '2021'],
        ['F', '2020'],
      ]),
      ...many(11, [['F', '2020']]),
    ]);
    expect(await valuesProblem(['sex', 'year'], table(['F', '2020']), m.count, at10)).toBeUndefined();
  });

  it('refuses a kept value under its threshold counting the values kept (a per-event dimension)', async () => {
    // 2012 and 2013 hold 6 persons each, counted once as persons of Q: the cells' bound would be 6+6.
    const m = model([
      ...many(6, [
        ['Q', '2012'],
        ['Q', '2013'],
      ]),
      ...many(20, [['P', '2014']]),
    ]);
    const problem = await valuesProblem(
      ['code', 'year'],
      table(['P', '2012'], ['P', '2013'], ['P', '2014'], ['Q', '2012'], ['Q', '2013'], ['Q', '2014']),
      m.count,
      at10,
    );
    expect(problem).toMatch(
      /^a value of (code|year) in the table has fewer persons behind it than its threshold/,
    );
  });

  it('refuses values that support each other left out together (a code only in 2001, 2001 only that code)', async () => {
    const m = model([...many(40, [['Z', '2001']]), ...many(20, [['P', '2014']])]);
    const problem = await valuesProblem(['code', 'year'], table(['P', '2014']), m.count, at10);
    expect(problem).toMatch(
      /^values left out of the table \(of code, year\) each have at least their thresholds/,
    );
    expect(problem).not.toMatch(/40/);
  });

  it('refuses a table under its own threshold', async () => {
    const m = model(many(9, [['F']]));
    expect(await valuesProblem(['sex'], table(['F']), m.count, (x) => (x ? 5 : 10))).toMatch(
      /^the table has fewer persons/,
    );
  });
});
