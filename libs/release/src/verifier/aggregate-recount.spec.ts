import { asWritten, recountProblem, recountSql } from './aggregate-recount';

describe('aggregate recount against the table', () => {
  const cells = (...shown: string[]) => shown.map((s, i) => ({ key: [String(i)], shown: s }));

  it('accepts counts that are the recount rounded to 5, and any * whatever it hides', () => {
    expect(
      recountProblem(cells('10', '25', '*', '*', '*'), [
        { key: ['0'], n: 8 },
        { key: ['1'], n: 27 },
        { key: ['2'], n: 3 },
        { key: ['3'], n: 400 },
      ]),
    ).toBeUndefined();
  });

  it('refuses a count one rounding step off, a count shown for 0-7 persons, and a shown cell the recount finds empty', () => {
    expect(recountProblem(cells('30'), [{ key: ['0'], n: 27 }])).toMatch(/^row 1: a cell's count differs/);
    expect(recountProblem(cells('*', '10'), [{ key: ['1'], n: 7 }])).toMatch(/^row 2: /);
    expect(recountProblem(cells('10'), [])).toMatch(/^row 1: /);
  });

  it('refuses a table without a cell the recount finds persons in, and names no count', () => {
    const problem = recountProblem(cells('10'), [
      { key: ['0'], n: 11 },
      { key: ['9'], n: 3 },
    ]);
    expect(problem).toBe("a cell the verifier's recount finds persons in is not in the table");
    expect(problem).not.toMatch(/\d/);
  });

  it('spells values as the file writes them (a formula-like value behind an apostrophe)', () => {
    expect(asWritten('-5--1')).toBe("'-5--1");
    expect(asWritten('=1+1')).toBe("'=1+1");
    expect(asWritten('-12')).toBe('-12');
    expect(asWritten('40-44')).toBe('40-44');
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
