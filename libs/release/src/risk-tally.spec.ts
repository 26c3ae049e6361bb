import fc from 'fast-check';
import { RiskTally } from './risk-tally';

/** A CSV field as COPY … CSV writes it (NULL empty, quoted where needed, `""` for the empty string). */
function token(v: string | null): string {
  if (v === null) return '';
  if (v === '' || /[",\n\r]/.test(v)) return `"${v.replace(/"/g, '""')}"`;
  return v;
}

/** The reference: distinct (person, class) pairs counted per class, from parsed values. */
function expected(rows: (string | null)[][], person: number | null, qis: number[]) {
  const pairs = new Set<string>();
  const persons = new Set<string>();
  const classes = new Map<string, number>();
  rows.forEach((r, i) => {
    const p = person === null ? `row${i}` : String(r[person]);
    const qi = JSON.stringify(qis.map((q) => r[q]));
    persons.add(p);
    if (pairs.has(`${p}\u0000${qi}`)) return;
    pairs.add(`${p}\u0000${qi}`);
    classes.set(qi, (classes.get(qi) ?? 0) + 1);
  });
  return { persons: persons.size, sizes: [...classes.values()].sort((a, b) => a - b) };
}

const value = fc.oneof(
  fc.constant(null),
  fc.constant(''),
  fc.constantFrom('M', 'F', 'LS1', '1970-05', 'a,b', 'say "hi"', 'two\nlines', 'é'),
);

describe('RiskTally', () => {
  it('counts persons and classes as the table did, however the CSV is cut into chunks', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 6 }), value, value, fc.string()), { maxLength: 40 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 17 }),
        fc.integer({ min: 1, max: 4 }),
        (raw, withPerson, cut, flushAt) => {
          // Rows grouped by person, as a file with a person column is ordered.
          const rows = raw
            .map(([p, a, b, other]) => [`P${p}`, a, other, b] as (string | null)[])
            .sort((x, y) => String(x[0]).localeCompare(String(y[0])));
          const header = ['pid', 'sex', 'code', 'area'];
          const csv = Buffer.from(rows.map((r) => r.map(token).join(',') + '\n').join(''));
          const tally = new RiskTally(
            { header, personColumn: withPerson ? 'pid' : null, quasiIdentifiers: ['sex', 'area'] },
            flushAt,
          );
          const sums = new Map<string, number>();
          const take = () => {
            for (const [k, n] of tally.take()) sums.set(k, (sums.get(k) ?? 0) + n);
          };
          for (let i = 0; i < csv.length; i += cut) {
            tally.update(csv.subarray(i, i + cut));
            if (tally.full) take();
          }
          tally.end();
          take();
          const want = expected(rows, withPerson ? 0 : null, [1, 3]);
          expect(tally.persons).toBe(want.persons);
          expect(tally.rows).toBe(rows.length);
          expect([...sums.values()].sort((a, b) => a - b)).toEqual(want.sizes);
        },
      ),
    );
  });

  it('refuses a CSV that ends inside a row, and a row without its person', () => {
    const cols = { header: ['pid', 'sex'], personColumn: 'pid', quasiIdentifiers: ['sex'] };
    const open = new RiskTally(cols);
    open.update(Buffer.from('a,M\nb,"F'));
    expect(() => open.end()).toThrow(/inside a row/);
    expect(() => new RiskTally(cols).update(Buffer.from(',M\n'))).toThrow(/without its person/);
  });
});
