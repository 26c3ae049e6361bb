import { createTestApp, TestApp } from '@custodian/testing';

/**
 * A JSON body with a `__proto__` key (or `constructor.prototype`) is refused, as before, but said so:
 * it is valid JSON, and the answer said it was not (an outsider's probe, 2026-12-07).
 */
describe('a JSON body with a prototype key', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  it.each([
    '{"__proto__":{"admin":true},"email":"a@b.example","password":"x"}',
    '{"constructor":{"prototype":{"admin":true}},"email":"a@b.example","password":"x"}',
  ])('%s: 400 INVALID_JSON naming the key, not "not valid JSON"', async (body) => {
    const res = await t.http.post('/api/auth/login').set('content-type', 'application/json').send(body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'INVALID_JSON' });
    expect(res.body.message).toMatch(/__proto__/);
  });

  it('a body that is not JSON is still said to be so', async () => {
    const res = await t.http.post('/api/auth/login').set('content-type', 'application/json').send('{"a":');
    expect(res.body).toMatchObject({ code: 'INVALID_JSON', message: 'Request body is not valid JSON' });
  });
});
