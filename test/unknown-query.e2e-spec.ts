import { randomUUID } from 'node:crypto';
import { createTestApp, TestApp } from '@custodian/testing';

/**
 * SPEC §7: unknown properties are refused with 400 — a query string's too. A paged list refused
 * `?foo=1`; every other route answered as if it had not been sent (an outsider's probe, 2026-12-07).
 */
describe('unknown query parameters', () => {
  let t: TestApp;
  let everyone: { Authorization: string };
  beforeAll(async () => {
    t = await createTestApp();
    everyone = (
      await t.as(
        ['admin', 'auditor', 'release_officer', 'panel_member', 'data_manager', 'researcher', 'practice'],
        {
          practiceOds: 'A81001',
        },
      )
    ).auth;
  });
  afterAll(() => t?.close());

  it('every GET route of the document refuses one it does not declare (400 naming it); those it declares still pass', async () => {
    const doc = (await t.http.get('/api/docs-json').expect(200)).body as {
      paths: Record<string, Record<string, { parameters?: { in: string; name: string }[] }>>;
    };
    const problems: string[] = [];
    let checked = 0;
    for (const [path, ops] of Object.entries(doc.paths)) {
      const get = ops.get;
      if (!get || path.startsWith('/api/docs') || path === '/api/health') continue;
      const url = path
        .replace('{ods}', 'A81001')
        .replace('{version}', '2')
        .replace('{name}', 'x')
        .replace(/\{[a-zA-Z]+\}/g, () => randomUUID());
      const res = await t.http.get(`${url}?zz_unknown=1`).set(everyone);
      checked++;
      if (res.status !== 400 || !String(res.body.message).includes('property zz_unknown should not exist'))
        problems.push(`${path} → ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(20);
    // Declared ones, named or a query object, are as before.
    await t.http.get('/api/register?format=csv').expect(200);
    await t.http.get('/api/bids?page=1').set(everyone).expect(200);
    await t.http.get(`/api/users?organisationId=${randomUUID()}`).set(everyone).expect(200);
    // The health route takes a monitor's cache-buster (a 400 would read as the service down).
    await t.http.get('/api/health?_=1733562000').expect(200);
    // Without credentials a protected route is still the 401 it was: its rules are not told.
    await t.http.get('/api/bids/x?zz_unknown=1').expect(401);
  });
});
