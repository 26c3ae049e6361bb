import { mostBehind, populationBelowMinimum } from './aggregate-population';

describe('aggregate minimum population, from the cells (#27)', () => {
  const cell = (key: string[], shown: string) => ({ key, shown });

  it('reads a cell as at most its persons: * as 7, n as n + 2', () => {
    expect(mostBehind('*')).toBe(7);
    expect(mostBehind('10')).toBe(12);
  });

  it('accepts a table whose every row and column may have the minimum behind it', () => {
    const cells = [
      cell(['F', '2012'], '60'),
      cell(['M', '2012'], '45'),
      cell(['F', '2013'], '50'),
      cell(['M', '2013'], '55'),
    ];
    expect(populationBelowMinimum(['sex', 'year'], cells, 100)).toBeUndefined();
  });

  it('refuses a row from too few persons, and a table from too few', () => {
    const cells = [cell(['F', '2012'], '150'), cell(['M', '2012'], '*'), cell(['U', '2012'], '*')];
    expect(populationBelowMinimum(['sex', 'year'], cells, 100)).toMatch(
      /a value of sex has at most 7 persons/,
    );
    expect(populationBelowMinimum([], [cell([], '90')], 100)).toMatch(/the table has at most 92 persons/);
  });
});
