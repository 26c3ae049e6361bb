import fc from 'fast-check';
import { csvCell } from './register.service';

/** A minimal RFC 4180 reader for one line of cells. */
function parseLine(line: string): string[] {
  const cells: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let s = '';
      i++;
      for (;;) {
        if (line[i] === '"' && line[i + 1] === '"') {
          s += '"';
          i += 2;
        } else if (line[i] === '"') {
          i++;
          break;
        } else s += line[i++];
      }
      cells.push(s);
      i++;
    } else {
      const j = line.indexOf(',', i);
      cells.push(line.slice(i, j < 0 ? line.length : j));
      i = j < 0 ? line.length + 1 : j + 1;
    }
  }
  return cells;
}

describe('csvCell', () => {
  it('quotes commas, quotes and newlines and neutralises formulas', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvCell(['gp', 'hes'])).toBe('gp;hes');
    // A spreadsheet splitting on `;` reads each piece as a cell (probe 36).
    expect(csvCell("Statins;=cmd|' /C calc'!A0;x")).toBe("Statins;'=cmd|' /C calc'!A0;x");
    expect(csvCell('a; "+1";b')).toBe(`"a;' ""+1"";b"`);
    expect(csvCell('Type 2 applied; Type 1 excluded')).toBe('Type 2 applied; Type 1 excluded');
    expect(csvCell(null)).toBe('');
    expect(csvCell(true)).toBe('true');
  });

  it('round-trips any text that does not start like a formula, nor any piece of it after a semicolon', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.string().filter((s) => !/^[=+\-@\t\r]/.test(s) && !/;[\s"]*[=+\-@\t\r]/.test(s)),
          { minLength: 1, maxLength: 5 },
        ),
        (cells) => {
          const line = cells.map(csvCell).join(',');
          if (cells.some((c) => /[\r\n]/.test(c))) return true;
          expect(parseLine(line)).toEqual(cells);
          return true;
        },
      ),
    );
  });
});
