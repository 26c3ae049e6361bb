import { asRead, asWritten, recountProblem, recountSql } from './aggregate-recount';

describe('aggregate recount against the table', () => {
  const cells = (...shown: string[]) => shown.map((s, i) => ({ key: [String(i)], shown: s }));
  /** A recounted cell whose values are written as the SQL gives them. */
  const rc = (key: string[], n: number) => ({ key, n });

  it('accepts counts that are the recount rounded to 5, and any * whatever it hides', () => {
    expect(
      recountProblem(cells('10', '25', '*', '*', '*'), [
        rc(['0'], 8),
        rc(['1'], 27),
        rc(['2'], 3),
        rc(['3'], 400),
      ]),
    ).toBeUndefined();
  });

  it('refuses a count one rounding step off, a count shown for 0-7 persons, and a shown cell the recount finds empty', () => {
    expect(recountProblem(cells('30'), [rc(['0'], 27)])).toMatch(/^row 1: a cell's count differs/);
    expect(recountProblem(cells('*', '10'), [rc(['1'], 7)])).toMatch(/^row 2: /);
    expect(recountProblem(cells('10'), [])).toMatch(/^row 1: /);
  });

  it('refuses a table without a cell the recount finds persons in whose values are all in the table, and names no count', () => {
    const table = [
      { key: ['a', 'x'], shown: '10' },
      { key: ['a', 'y'], shown: '*' },
      { key: ['b', 'x'], shown: '*' },
    ];
    const problem = recountProblem(table, [rc(['a', 'x'], 11), rc(['b', 'y'], 3)]);
    expect(problem).toBe("a cell the verifier's recount finds persons in is not in the table");
    expect(problem).not.toMatch(/\d/);
  });

  it('leaves a cell with a value the table left out to the values check (aggregate-values.ts)', () => {
    const table = [
      { key: ['a', 'x'], shown: '10' },
      { key: ['a', "'-y"], shown: '*' },
    ];
    const recount = [rc(['a', 'x'], 11), { key: ['a', "'-y"], n: 2 }, rc(['b', 'x'], 3)];
    expect(recountProblem(table, recount)).toBeUndefined();
  });

  it('spells values as the file writes them (a formula-like value behind an apostrophe)', () => {
    expect(asWritten('-5--1')).toBe("'-5--1");
    expect(asWritten('=1+1')).toBe("'=1+1");
    expect(asWritten('-12')).toBe('-12');
    expect(asWritten('40-44')).toBe('40-44');
    // Not `'=x`: written like `=x` (`asWritten` is not one-to-one there); read back as `=x`.
    for (const v of ['-5--1', '=1+1', '-12', '40-44', "'abc", '@home']) expect(asRead(asWritten(v))).toBe(v);
  });

  it('reads every requested dataset, and a source row of a Type 1 objector nowhere', () => {
    const sql = recountSql(['gp', 'hes', 'social_care'], ['sex', 'year']);
    expect(sql).toMatch(/FROM gp_events s/);
    expect(sql).toMatch(/FROM hes_episodes s LEFT JOIN patients linked/);
    expect(sql).toMatch(/FROM social_care_records s LEFT JOIN patients linked/);
    expect(sql.match(/NOT EXISTS \(SELECT 1 FROM type1 b WHERE b\.nhs = s\.nhs_number\)/g)).toHaveLength(3);
    expect(recountSql(['gp'], [])).not.toMatch(/GROUP BY|hes_episodes s LEFT|DISTINCT ON/);
  });
});
