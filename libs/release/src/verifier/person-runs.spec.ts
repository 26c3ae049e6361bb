import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { KmSets } from './km-check';
import { PersonDateOrder } from './person-date-order';
import { itemText, periodBytesOk, PersonRuns } from './person-runs';
import { TokenIndex } from './token-index';
import { ANON_PERIOD } from './verifier-rules';

/**
 * The rows that repeat their person part are read two ways (#19): as text, and as bytes before
 * they are decoded. Both must decide and count exactly alike.
 */
describe('verifier: rows repeating their person part', () => {
  let spillDir: string;
  beforeAll(() => {
    spillDir = mkdtempSync(path.join(tmpdir(), 'person-runs-'));
  });
  afterAll(() => rmSync(spillDir, { recursive: true, force: true }));

  it('a period read as bytes is accepted exactly where the pattern accepts its text', () => {
    const samples = ['', '*', '2020', '2020-01', '2020-12', '2020-00', '2020-13', '2020-1', '202a', '**'];
    fc.assert(
      fc.property(fc.oneof(fc.constantFrom(...samples), fc.stringMatching(/^[0-9*x-é]{0,8}$/)), (s) => {
        const b = Buffer.from(`,${s},`);
        expect(periodBytesOk(b, 1, b.length - 1)).toBe(s === '' || ANON_PERIOD.test(s));
      }),
      { numRuns: 2000 },
    );
  });

  it('interns texts and bytes to the same numbers as a Map of them, long ones and many included', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.constantFrom('text', 'utf8', 'bytes'),
            fc.integer({ min: 2, max: 4 }),
            fc.oneof(
              fc.string({ maxLength: 12 }),
              fc.string({ minLength: 250, maxLength: 400 }),
              fc.stringMatching(/^[0-9a-f]{32}$/),
            ),
          ),
          { maxLength: 400 },
        ),
        (ops) => {
          const index = new TokenIndex();
          const seen = new Map<string, number>();
          for (const [how, tag, s] of ops) {
            const key = how === 'text' ? `t${s}` : `${tag}:${Buffer.from(s).toString('hex')}`;
            const b = Buffer.from(`xy${s}z`);
            const id =
              how === 'text'
                ? index.intern(s)
                : how === 'utf8'
                  ? index.internUtf8(s, tag)
                  : index.internBytes(b, 2, b.length - 1, tag);
            if (!seen.has(key)) seen.set(key, seen.size);
            expect(id).toBe(seen.get(key));
          }
          expect(index.size).toBe(seen.size);
        },
      ),
      { numRuns: 200 },
    );
    // Past the first page and its doublings: a few thousand items of every length.
    const index = new TokenIndex();
    for (let round = 0; round < 2; round++)
      for (let i = 0; i < 5000; i++) expect(index.internUtf8('x'.repeat(i % 300) + i, 2)).toBe(i);
  });

  // Rows of a GP-like anonymised file: token, age band, area, then code system, code, period.
  const rowArb = fc.record({
    person: fc.integer({ min: 0, max: 2 }),
    age: fc.constantFrom('10-14', '*'),
    // Values one of which begins another: a person part must be compared to its last byte.
    area: fc.constantFrom('N', 'NE', '*'),
    code: fc.constantFrom('1', '22', '333', 'é4', 'x,y'),
    period: fc.constantFrom('*', '2020', '2020-07', '2020-13', ''),
    extra: fc.constantFrom(0, 0, 0, 0, 1, -1),
  });
  type Row = typeof rowArb extends fc.Arbitrary<infer R> ? R : never;
  const header = ['person_token', 'age_band', 'area', 'code_system', 'code', 'event_date'];

  const gpRuns = (km: KmSets, order = new PersonDateOrder()) =>
    new PersonRuns({
      name: 'gp.csv.gz',
      header,
      personCols: 3,
      eventYearMonthCols: [5],
      itemCols: [3, 4, 5],
      eventYearMonth: true,
      km,
      order: { col: 5, check: order },
      where: (i) => `row ${i}`,
    });

  function read(rows: Row[], bytes: boolean) {
    const km = new KmSets({ tempDir: spillDir, spillPairs: 3 });
    const order = new PersonDateOrder();
    const runs = gpRuns(km, order);
    const fast = runs.fast(true);
    let prev: string | undefined;
    const lines = rows.map((r) => {
      const event = ['snomed', r.code, r.period];
      if (r.extra > 0) event.push('x');
      if (r.extra < 0) event.pop();
      return `${String(r.person).padStart(32, 'a')},${r.age},${r.area},${event.join(',')}`;
    });
    try {
      lines.forEach((line, i) => {
        const b = Buffer.from(line);
        if (bytes && !line.includes('"') && fast!(b, 0, b.length, i, [false])) return;
        if (runs.repeats(line, i, [false])) return;
        // A row checked in full (as file-checks does): its item, then the runs begin from it.
        const f = line.split(',');
        if (f.length !== header.length) throw new Error(`row ${i} has ${f.length} fields`);
        if (f[5] !== '' && !ANON_PERIOD.test(f[5])) throw new Error(`row ${i}: event_date`);
        km.add(
          f[0],
          [
            ['age_band', f[1]],
            ['area', f[2]],
          ],
          itemText(f.slice(3)),
          'gp.csv.gz',
        );
        order[f[0] === prev ? 'next' : 'first'](f[5]);
        prev = f[0];
        runs.begin(line);
      });
      // Every distinct set counted (k above any count): a difference in items shows.
      return { sets: km.smallSets(rows.length + 1, 2), persons: km.size, order: order.counts() };
    } catch (err) {
      km.dispose();
      return { error: (err as Error).message };
    }
  }

  it('property: bytes and text give the same failures, persons and sets', () => {
    expect(gpRuns(new KmSets({ tempDir: spillDir })).fast(true)).toBeDefined();
    fc.assert(
      fc.property(fc.array(rowArb, { minLength: 1, maxLength: 40 }), (rows) => {
        expect(read(rows, true)).toEqual(read(rows, false));
      }),
      { numRuns: 1000 },
    );
  });
});
