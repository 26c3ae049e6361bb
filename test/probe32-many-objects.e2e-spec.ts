import { createTestApp, TestApp } from '@custodian/testing';

/**
 * Probe 32: a researcher's `POST /api/bids` whose `datasets` held 250,000 empty objects (a 750 KB
 * body, inside the 1 MiB limit) killed the API: every element was made a DTO and validated, each
 * with its own errors, and the process ran out of heap (`FATAL ERROR: Reached heap limit`, under
 * `npm start`'s 192 MB) — the whole service down for every user. An anonymous `POST
 * /api/auth/refresh` with such an array under an unknown key held the event loop 5.5 s. No request
 * body of the API holds more than a few dozen objects: more than 1,000 is refused as it is parsed.
 */
describe('probe 32: a JSON body of very many objects', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  const many = (n: number) => `[${Array.from({ length: n }, () => '{}').join(',')}]`;

  it('is refused at once with 400 JSON_TOO_WIDE, and the service goes on answering', async () => {
    const researcher = await t.as('researcher');
    for (const [url, auth, body] of [
      ['/api/bids', researcher.auth, `{"datasets":${many(50_000)}}`],
      ['/api/auth/refresh', {}, `{"refreshToken":"x","x":${many(50_000)}}`],
    ] as const) {
      const started = Date.now();
      const res = await t.http.post(url).set(auth).set('content-type', 'application/json').send(body);
      expect(res.status, url).toBe(400);
      expect(res.body, url).toMatchObject({ code: 'JSON_TOO_WIDE' });
      expect(Date.now() - started, url).toBeLessThan(5_000);
    }
    await t.http.get('/api/health').expect(200);
  });

  it('more than 25,000 values in all (an array of numbers) is refused too, on the public sign-in', async () => {
    const numbers = `[${Array.from({ length: 300_000 }, () => '1').join(',')}]`;
    const res = await t.http
      .post('/api/auth/login')
      .set('content-type', 'application/json')
      .send(`{"email":"a@example.org","password":"x","x":${numbers}}`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'JSON_TOO_WIDE' });
  });

  it('the largest body the API takes (a cohort of 10,000 practices and 10,000 codes) is not refused', async () => {
    const researcher = await t.as('researcher');
    const practices = Array.from({ length: 10_000 }, (_, i) => `A${String(i).padStart(5, '0')}`);
    const conditionCodes = Array.from({ length: 10_000 }, (_, i) => `C${i}`);
    const res = await t.http
      .post('/api/bids')
      .set(researcher.auth)
      .send({
        title: 'Many practices',
        purpose: 'A purpose long enough',
        publicBenefit: 'A benefit long enough',
        legalBasis: 'none',
        requestedTier: 'aggregate',
        datasets: [{ dataset: 'gp', fields: ['sex'] }],
        cohort: { practices, conditionCodes, postcodeAreas: ['LS'] },
        aggregation: { dimensions: ['sex'] },
        durationMonths: 12,
      });
    expect(res.status).toBe(201);
  });
});
