import fc from 'fast-check';
import { PersonDateOrder } from './person-date-order';

/** Probe 27: within a person, an anonymised file's rows must not follow the event dates. */
describe('verifier: row order within a person (PersonDateOrder)', () => {
  // Persons of 1-8 rows, each row a true date (month index) shown as a month, a year or `*`.
  const personArb = fc.array(
    fc.record({
      month: fc.integer({ min: 0, max: 47 }),
      shown: fc.constantFrom('month', 'year', 'star', 'empty'),
    }),
    { minLength: 1, maxLength: 8 },
  );
  type Row = { month: number; shown: string };
  const period = (r: Row) => {
    const y = String(2010 + Math.floor(r.month / 12));
    if (r.shown === 'month') return `${y}-${String((r.month % 12) + 1).padStart(2, '0')}`;
    return r.shown === 'year' ? y : r.shown === 'star' ? '*' : '';
  };
  const check = (people: Row[][], bytes = false) => {
    const c = new PersonDateOrder();
    for (const rows of people)
      rows.forEach((r, j) => {
        const p = period(r);
        if (j === 0) c.first(p);
        else if (bytes) {
          const b = Buffer.from(`x,${p},y`);
          c.nextBytes(b, 2, 2 + p.length);
        } else c.next(p);
      });
    return { counts: c.counts(), problem: c.problem() };
  };
  const shuffle = <T>(xs: T[], rnd: Iterator<number>) => {
    const out = [...xs];
    for (let i = out.length - 1; i > 0; i--) {
      const j = rnd.next().value % (i + 1);
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  };

  it('property: a random order within each person passes; rows in date order (or its reverse) fail', () => {
    fc.assert(
      fc.property(
        fc.array(personArb, { minLength: 1, maxLength: 400 }),
        fc.infiniteStream(fc.nat()),
        (people, rnd) => {
          const it = rnd[Symbol.iterator]();
          expect(check(people.map((rows) => shuffle(rows, it))).problem).toBeUndefined();
          const sorted = people.map((rows) => [...rows].sort((a, b) => a.month - b.month));
          const { counts, problem } = check(sorted);
          // Date order: every person with two comparable periods votes that they rise.
          expect(counts.sum).toBe(counts.votes);
          if (counts.votes >= 60) expect(problem).toMatch(/follow the event dates/);
          if (counts.votes >= 60)
            expect(check(sorted.map((rows) => [...rows].reverse())).problem).toBeDefined();
        },
      ),
      { numRuns: 200 },
    );
  });

  it('property: periods read as bytes and as text count alike', () => {
    fc.assert(
      fc.property(fc.array(personArb, { maxLength: 60 }), (people) => {
        expect(check(people, true)).toEqual(check(people));
      }),
      { numRuns: 500 },
    );
  });

  it('a year and a month of it, `*` and empty periods are no vote; the last visible period is compared', () => {
    const c = new PersonDateOrder();
    c.first('2012');
    c.next('2012-03');
    c.next('*');
    c.next('');
    expect(c.counts()).toEqual({ votes: 0, sum: 0 });
    c.first('2013-05');
    c.next('*');
    c.next('2011');
    expect(c.counts()).toEqual({ votes: 1, sum: -1 });
  });

  it('many persons, each with a random order: no false alarm (a fixed pseudo-random draw)', () => {
    let seed = 27;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) / 2 ** 24;
    const c = new PersonDateOrder();
    for (let p = 0; p < 20000; p++) {
      const months = Array.from({ length: 1 + Math.floor(rand() * 6) }, () => Math.floor(rand() * 48));
      months.forEach((m, j) => (j === 0 ? c.first : c.next).call(c, period({ month: m, shown: 'month' })));
    }
    expect(c.problem()).toBeUndefined();
    expect(c.counts().votes).toBeGreaterThan(10000);
  });
});
