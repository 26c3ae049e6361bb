import { createTestApp, TestApp } from '@custodian/testing';

/**
 * Probe 32: a JSON string may spell a lone UTF-16 surrogate as an escape (`"\ud800"`): valid JSON
 * syntax, but not Unicode text (I-JSON, RFC 7493 §2.1, refuses it; it cannot be written as UTF-8).
 * In an email it reached validator's `isEmail`, whose `encodeURI` threw: `POST /api/auth/login`,
 * unauthenticated, answered 500 INTERNAL_ERROR (and `POST /api/users` likewise). Elsewhere such a
 * string would be stored as U+FFFD, altered, as invalid UTF-8 bytes were before they were refused.
 */
describe('probe 32: a lone surrogate in a JSON body', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  const post = (url: string, json: string, auth: Record<string, string> = {}) =>
    t.http.post(url).set(auth).set('content-type', 'application/json').send(json);

  it('is 400 INVALID_JSON on the public sign-in, not a 500', async () => {
    for (const json of [
      '{"email":"a\\ud800@example.org","password":"x"}',
      '{"email":"a@example.org","password":"x\\udfff"}',
      '{"email\\ud800":"a@example.org","password":"x"}',
    ]) {
      const res = await post('/api/auth/login', json);
      expect(res.status, json).toBe(400);
      expect(res.body).toMatchObject({ statusCode: 400, code: 'INVALID_JSON' });
    }
  });

  it('is 400 INVALID_JSON when an admin creates a user, and nothing is stored', async () => {
    const admin = await t.as('admin');
    const res = await post(
      '/api/users',
      '{"email":"probe32\\ud800@example.org","password":"a-long-enough-password-1","displayName":"X","roles":["auditor"]}',
      admin.auth,
    );
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'INVALID_JSON' });
  });

  it('a well-formed pair (an emoji written as escapes) is still text', async () => {
    const res = await post('/api/auth/login', '{"email":"a@example.org","password":"x\\ud83d\\ude00"}');
    expect(res.status).toBe(401);
  });
});
