import fc from 'fast-check';
import { createTestApp, TestApp } from '@custodian/testing';

/**
 * Every paged route (SPEC §7): a page past the last one and absurd page values are 400 with a code,
 * never 500 (`page=1e20` was an integer to the validator and a "bigint out of range" to PostgreSQL).
 */
describe('paged routes refuse pages that do not exist', () => {
  let t: TestApp;
  let routes: { path: string; auth: Record<string, string> }[];

  beforeAll(async () => {
    t = await createTestApp();
    const researcher = await t.as('researcher');
    const auditor = await t.as('auditor');
    routes = [
      { path: '/api/bids', auth: researcher.auth },
      { path: '/api/audit', auth: auditor.auth },
    ];
  });
  afterAll(() => t?.close());

  it('the first page of an empty or short list is 200; the page after the last is 400 PAGE_OUT_OF_RANGE', async () => {
    for (const r of routes) {
      const first = await t.http.get(`${r.path}?page=1&limit=200`).set(r.auth).expect(200);
      const pages = Math.max(1, Math.ceil(first.body.total / 200));
      const past = await t.http
        .get(`${r.path}?page=${pages + 1}&limit=200`)
        .set(r.auth)
        .expect(400);
      expect(past.body).toMatchObject({ statusCode: 400, code: 'PAGE_OUT_OF_RANGE' });
    }
  });

  it('absurd page values are 400, never 500', async () => {
    const absurd = fc.oneof(
      fc.constantFrom(
        '1e20',
        '1e308',
        '9007199254740993',
        '2147483648',
        '-1',
        '0',
        '1.5',
        'abc',
        '',
        '0x10',
        'Infinity',
      ),
      fc.bigInt({ min: 100_001n, max: 10n ** 30n }).map(String),
      // Anything that is not a whole number from 1 to 100000 (those are real pages).
      fc.string({ maxLength: 12 }).filter((s) => {
        const n = Number(s);
        return !(Number.isInteger(n) && n >= 1 && n <= 100_000);
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(0, 1), absurd, async (i, page) => {
        const r = routes[i]!;
        const res = await t.http.get(`${r.path}?page=${encodeURIComponent(page)}`).set(r.auth);
        expect(res.status, `${r.path}?page=${page}`).toBe(400);
      }),
      { numRuns: 60 },
    );
  });
});
