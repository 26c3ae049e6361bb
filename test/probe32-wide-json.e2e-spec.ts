import { createTestApp, TestApp } from '@custodian/testing';

/**
 * Probe 32: a JSON body within the 1 MiB limit may hold an object of tens of thousands of
 * properties. class-transformer copies an object onto its DTO in time quadratic in its keys, on the
 * event loop: `POST /api/auth/refresh` (public) with 80,000 unknown keys took 10 s, the sign-in 16 s
 * (its guard transforms the body too), during which the whole API answered nothing (a health
 * check waited 35 s), and each answered with every key named (0.9 and 2.7 MB). No request body of
 * the API has an object of more than a few dozen properties: a wider one is refused as it is parsed.
 */
describe('probe 32: a JSON object of very many properties', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  const wide = (n: number) => `{${Array.from({ length: n }, (_, i) => `"k${i}":1`).join(',')}}`;

  it('is refused at once with 400 JSON_TOO_WIDE, a short answer, on the public routes', async () => {
    for (const url of ['/api/auth/refresh', '/api/auth/login']) {
      const started = Date.now();
      const res = await t.http.post(url).set('content-type', 'application/json').send(wide(50_000));
      const ms = Date.now() - started;
      expect(res.status, url).toBe(400);
      expect(res.body, url).toMatchObject({ code: 'JSON_TOO_WIDE' });
      expect(res.text.length, url).toBeLessThan(5_000);
      expect(ms, url).toBeLessThan(5_000);
    }
  });

  it('nested too; a body of ordinary width is read as before', async () => {
    const nested = `{"refreshToken":"x","a":{"b":${wide(5_000)}}}`;
    const res = await t.http.post('/api/auth/refresh').set('content-type', 'application/json').send(nested);
    expect(res.body).toMatchObject({ statusCode: 400, code: 'JSON_TOO_WIDE' });
    const ordinary = await t.http
      .post('/api/auth/refresh')
      .set('content-type', 'application/json')
      .send(wide(20));
    expect(ordinary.body).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED' });
  });
});
