import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { CsvReader, FastLane, fieldsOf, parseQuoted } from './csv-stream';
import { readCsv } from './file-checks';
import {
  aggregateCellProblem,
  codeValueOk,
  crossProductProblem,
  expectedHeader,
  FULL_DATE_IN_LINE,
  holdsNhsNumber,
  loneSuppressedCell,
  MAYBE_NHS_NUMBER,
  RowOrderCheck,
} from './verifier-rules';

describe('verifier rules', () => {
  it('a pattern screened once per chunk never hides a line it matches, however the text is cut', () => {
    const screens = [MAYBE_NHS_NUMBER, FULL_DATE_IN_LINE];
    fc.assert(
      fc.property(
        // Characters of two and three UTF-8 bytes too (screens run over bytes read as Latin-1), and
        // chunks cut anywhere, inside a character as well.
        fc.array(fc.stringMatching(/^[0-9a-f ,é€٣-]{0,24}$/), { minLength: 1, maxLength: 12 }),
        fc.array(fc.nat(400), { maxLength: 6 }),
        (lines, cuts) => {
          const text = Buffer.from(`${lines.join('\n')}\n`);
          const seen: [string, boolean[]][] = [];
          const reader = new CsvReader((record, _quoted, maybe) => seen.push([record, [...maybe]]), screens);
          let from = 0;
          for (const at of [...cuts.map((c) => c % (text.length + 1)).sort((a, b) => a - b), text.length]) {
            if (at < from) continue;
            reader.write(text.subarray(from, at));
            from = at;
          }
          reader.end();
          expect(seen.map(([r]) => r)).toEqual(lines);
          for (const [record, maybe] of seen)
            screens.forEach((r, k) => {
              if (r.test(record)) expect(maybe[k]).toBe(true);
            });
        },
      ),
      { numRuns: 500 },
    );
  });

  it('bytes offered to a fast lane first: the same records, indexes and screens as text alone', () => {
    const screens = [MAYBE_NHS_NUMBER, FULL_DATE_IN_LINE];
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[0-9a-f ,é€"\n-]{0,20}$/), { minLength: 1, maxLength: 12 }),
        fc.array(fc.nat(400), { maxLength: 6 }),
        fc.integer({ min: 0, max: 3 }),
        (lines, cuts, take) => {
          const bytes = Buffer.from(`${lines.join('\n')}\n`);
          const taken: [number, string][] = [];
          const read = (fast?: FastLane) => {
            const seen: [number, string, boolean[]][] = [];
            const reader = new CsvReader((r, _q, maybe, i) => seen.push([i, r, [...maybe]]), screens, fast);
            let from = 0;
            for (const at of [
              ...cuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b),
              bytes.length,
            ]) {
              if (at < from) continue;
              reader.write(bytes.subarray(from, at));
              from = at;
            }
            try {
              reader.end();
            } catch (err) {
              seen.push([-1, (err as Error).message, []]);
            }
            return seen;
          };
          const text = read();
          // A lane that takes every line whose index is a multiple of `take + 2`, as a record.
          const lane = read((buf, a, z, i, maybe) => {
            if (i % (take + 2)) return false;
            const line = buf.toString('utf8', a, z);
            expect(line.includes('"')).toBe(false);
            screens.forEach((r, k) => {
              if (r.test(line)) expect(maybe[k]).toBe(true);
            });
            taken.push([i, line]);
            return true;
          });
          const merged = [...lane.filter(([i]) => i >= 0), ...taken.map(([i, r]) => [i, r] as const)]
            .sort((x, y) => x[0] - y[0])
            .map(([i, r]) => [i, r]);
          expect([...merged, ...lane.filter(([i]) => i < 0).map(([i, r]) => [i, r])]).toEqual(
            text.map(([i, r]) => [i, r]),
          );
          for (const [, record, maybe] of lane)
            screens.forEach((r, k) => {
              if (maybe.length && r.test(record)) expect(maybe[k]).toBe(true);
            });
        },
      ),
      { numRuns: 500 },
    );
  });
  it('a file of no record at all is refused: its header, checked on the first record, was never seen', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'read-csv-'));
    try {
      writeFileSync(path.join(dir, 'gp.csv.gz.partial'), gzipSync(Buffer.alloc(0)));
      writeFileSync(path.join(dir, 'header.csv'), 'a,b\n');
      await expect(readCsv(path.join(dir, 'gp.csv.gz.partial'), true, () => undefined)).rejects.toThrow(
        /^format: gp\.csv\.gz has no header/,
      );
      await expect(readCsv(path.join(dir, 'header.csv'), false, () => undefined)).resolves.toMatchObject({
        rows: 0,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('finds a raw NHS number standing alone, as typed, but not inside longer numbers or hex keys', () => {
    expect(holdsNhsNumber('9434765919')).toBe(true);
    expect(holdsNhsNumber('943 476 5919')).toBe(true);
    expect(holdsNhsNumber('note: 943-476-5919 seen')).toBe(true);
    expect(holdsNhsNumber('9434765918')).toBe(false); // check digit wrong
    expect(holdsNhsNumber('19434765919')).toBe(false); // part of a longer number
    expect(holdsNhsNumber(`ab${'9434765919'}cd`)).toBe(false); // inside a hex key
    expect(holdsNhsNumber('2012-03-04')).toBe(false);
    expect(holdsNhsNumber('1111111111')).toBe(false);
  });

  it('aggregate cells: * or multiples of 5 of at least 10, never 0-7', () => {
    for (const ok of ['*', '10', '15', '1000']) expect(aggregateCellProblem(ok)).toBeUndefined();
    for (const bad of ['0', '1', '4', '5', '7', '12', '-5', '', 'x'])
      expect(aggregateCellProblem(bad)).toBeDefined();
  });

  it('aggregate tables: every cell of the cross-product once; a missing or repeated cell is found', () => {
    const full = ['F', 'M'].flatMap((s) => ['2012', '2013', '2014'].map((y) => [s, y]));
    expect(crossProductProblem(full)).toBeUndefined();
    expect(crossProductProblem([])).toBeDefined(); // an empty table: never written
    expect(crossProductProblem([[]])).toBeUndefined();
    expect(crossProductProblem(full.slice(1))).toMatch(/5 cells, not the 6/);
    expect(crossProductProblem([...full.slice(1), full[2]])).toMatch(/twice/);
  });

  it('a lone suppressed cell in a row or column is found; two, or none, are not', () => {
    const c = (a: string, b: string, s: boolean) => ({ key: [a, b], suppressed: s });
    expect(
      loneSuppressedCell([
        c('M', '2012', true),
        c('M', '2013', true),
        c('F', '2012', true),
        c('F', '2013', true),
      ]),
    ).toBeUndefined();
    expect(
      loneSuppressedCell([
        c('M', '2012', true),
        c('M', '2013', false),
        c('F', '2012', true),
        c('F', '2013', false),
      ]),
    ).toBe(1);
    expect(
      loneSuppressedCell([
        { key: ['M'], suppressed: true },
        { key: ['F'], suppressed: false },
      ]),
    ).toBe(0);
    expect(loneSuppressedCell([{ key: [], suppressed: true }])).toBeUndefined(); // one cell: no group
  });

  it('headers by tier, from the SPEC table (catalogue order; no practice in the anonymised tier)', () => {
    const f = ['nhs_number', 'date_of_birth', 'postcode', 'practice_ods', 'code'];
    expect(expectedHeader('gp', f, 'identifiable')).toEqual([
      'nhs_number',
      'date_of_birth',
      'postcode',
      'practice_ods',
      'code',
    ]);
    expect(expectedHeader('gp', f, 'pseudonymised')).toEqual([
      'pseudo_id',
      'birth_year_month',
      'postcode_district',
      'practice_ods',
      'code',
    ]);
    expect(expectedHeader('gp', f, 'anonymised')).toEqual(['person_token', 'age_band', 'area', 'code']);
  });

  it('reads CSV in chunks split anywhere: quotes, doubled quotes, commas and newlines inside fields', () => {
    const text = 'a,b,c\n1,"x, ""y""",\n2,"multi\nline",z\n3,plain,"q"';
    for (let cut = 0; cut <= text.length; cut++) {
      const got: string[][] = [];
      const r = new CsvReader((line, quoted) => got.push(fieldsOf(line, quoted)));
      r.write(Buffer.from(text.slice(0, cut)));
      r.write(Buffer.from(text.slice(cut)));
      r.end();
      expect(got).toEqual([
        ['a', 'b', 'c'],
        ['1', 'x, "y"', ''],
        ['2', 'multi\nline', 'z'],
        ['3', 'plain', 'q'],
      ]);
    }
    expect(parseQuoted(`"'=1+1",b`)).toEqual(["'=1+1", 'b']);
    const r = new CsvReader(() => undefined);
    r.write(Buffer.from('"open'));
    expect(() => r.end()).toThrow(/unterminated/);
  });

  // Persons with a person-level value each (a few share one) and 1-8 dated rows.
  const peopleArb = fc.array(
    fc.record({ value: fc.integer({ min: 0, max: 400 }), rows: fc.integer({ min: 1, max: 8 }) }),
    { minLength: 20, maxLength: 300 },
  );
  const rowsOf = (people: { value: number; rows: number }[]) =>
    people.flatMap((p, i) =>
      Array.from({ length: p.rows }, (_, j) => ({
        person: i,
        value: `v${p.value}`,
        date: `2012-${String(j + 1).padStart(2, '0')}`,
      })),
    );
  const check = (rows: { value: string; date: string }[]) => {
    const c = new RowOrderCheck();
    for (const r of rows) c.add(r.value, r.date);
    return c.problem();
  };

  it('property: row order — a random order of any population passes; rows grouped by person and date fail', () => {
    fc.assert(
      fc.property(peopleArb, fc.infiniteStream(fc.nat()), (people, rnd) => {
        const rows = rowsOf(people);
        // Fisher-Yates with fast-check's numbers.
        const shuffled = [...rows];
        const it = rnd[Symbol.iterator]();
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = it.next().value % (i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
        }
        expect(check(shuffled)).toBeUndefined();
        // Grouped by person (the order before #27): found wherever there is enough to see it.
        const repeats = rows.length - people.length;
        if (repeats >= 60) expect(check(rows)).toBeDefined();
      }),
      { numRuns: 200 },
    );
  });
});

describe('coded columns: a code, never free text (#19)', () => {
  it('takes codes and, anonymised, their generalisations; refuses free text in every tier, location columns included', () => {
    for (const tier of ['identifiable', 'pseudonymised', 'anonymised']) {
      expect(codeValueOk('diagnosis_icd10', 'I63.9', tier)).toBe(true);
      expect(codeValueOk('provider_code', 'RR8', tier)).toBe(true);
      expect(codeValueOk('service_type', 'home_care', tier)).toBe(true);
      expect(codeValueOk('la_code', '', tier)).toBe(true);
      for (const [column, text] of [
        ['diagnosis_icd10', 'fell at home'],
        ['procedure_opcs4', 'op notes'],
        ['provider_code', 'St Elsewhere'],
        ['la_code', 'Leeds council'],
        ['service_type', 'meals daily'],
      ])
        expect(codeValueOk(column, text, tier)).toBe(false);
    }
    // Anonymised: the ladders' rungs (a review found any value passed in a location column there).
    for (const [column, v] of [
      ['diagnosis_icd10', 'IX'],
      ['procedure_opcs4', 'W37'],
      ['procedure_opcs4', 'W'],
      ['provider_code', 'North West'],
      ['la_code', 'unknown'],
      ['la_code', '*'],
    ])
      expect([column, codeValueOk(column, v, 'anonymised'), codeValueOk(column, v, 'pseudonymised')]).toEqual(
        [column, true, false],
      );
  });
});

describe('the value column: a number and a unit code, never free text (probe 14, finding 1)', () => {
  it('takes what the intake stores; refuses a released value with free text in its unit, in every tier', () => {
    for (const tier of ['identifiable', 'pseudonymised', 'anonymised']) {
      for (const v of [
        '',
        '5',
        '-1',
        "'-1 mg",
        '7.25 mmol/L',
        '120 mm[Hg]',
        '1e+21 10*9/L',
        '88 mL/min/{1.73_m2}',
      ])
        expect([v, codeValueOk('value', v, tier)]).toEqual([v, true]);
      for (const v of [
        "'-1 mg Jane Doe LS6 2QB",
        "'-1 {Jane Doe HIV pos}",
        "'-1 Smith 07700900123",
        'Jane',
        '5 mg ',
        '5  mg',
      ])
        expect([v, codeValueOk('value', v, tier)]).toEqual([v, false]);
    }
  });
});
