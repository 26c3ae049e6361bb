import { createTestApp, TEST_PASSWORD, TestApp } from '@custodian/testing';
import { from, listen } from './support/client-address';

const login = (t: TestApp, address: string, email: string, password: string) =>
  from(t, address, 'POST', '/api/auth/login', { json: { email, password } });

describe('login throttling: per account and address, atomic, not a lockout', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
    await listen(t);
  });
  afterAll(() => t?.close());

  it('five failures from one address do not lock the owner out from another address', async () => {
    const user = await t.factory.user();
    for (let i = 0; i < 5; i++)
      expect((await login(t, '127.0.0.2', user.email, `wrong-password-${i}`)).status).toBe(401);
    // The guessing address now waits, even with the right password …
    const slowed = await login(t, '127.0.0.2', user.email, TEST_PASSWORD);
    expect(slowed.status).toBe(429);
    expect(slowed.body).toMatchObject({ statusCode: 429, code: 'LOGIN_THROTTLED' });
    const wait = Number(slowed.headers['retry-after']);
    expect(wait).toBeGreaterThanOrEqual(1);
    expect(wait).toBeLessThanOrEqual(2);
    // … and the owner, elsewhere, signs in at once.
    const owner = await login(t, '127.0.0.3', user.email, TEST_PASSWORD);
    expect(owner.status, JSON.stringify(owner.body)).toBe(200);
    // The delay grows with each further failure from the guessing address, and then lets it try again.
    await new Promise((r) => setTimeout(r, wait * 1000 + 100));
    expect((await login(t, '127.0.0.2', user.email, 'wrong-password-6')).status).toBe(401);
    const longer = await login(t, '127.0.0.2', user.email, TEST_PASSWORD);
    expect(longer.status).toBe(429);
    expect(Number(longer.headers['retry-after'])).toBeGreaterThan(wait);
  });

  it('50 parallel wrong passwords from one address: only the allowance is processed, the rest 429', async () => {
    const user = await t.factory.user();
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => login(t, '127.0.0.4', user.email, `wrong-password-${i}`)),
    );
    const processed = results.filter((r) => r.status === 401).length;
    const throttled = results.filter((r) => r.status === 429).length;
    expect(processed + throttled).toBe(50);
    // Five, plus at most the ones the growing delay lets through if the burst is slow to arrive.
    expect(processed).toBeGreaterThanOrEqual(5);
    expect(processed).toBeLessThanOrEqual(7);
    const { rows } = await t.sql.query(
      `SELECT count(*)::int AS n FROM audit_log WHERE action = 'auth.login' AND outcome = 'failure' AND details->>'email' = $1`,
      [user.email],
    );
    expect(rows[0].n).toBe(processed);
  });

  it('keeps a ceiling per account across addresses against distributed guessing', async () => {
    const user = await t.factory.user();
    // Failures from a hundred addresses (written directly: the test has only so many local addresses).
    await t.sql.query(
      `INSERT INTO login_attempts (email, ip, succeeded) SELECT $1, '198.51.100.' || g, false FROM generate_series(1, 100) g`,
      [user.email],
    );
    const res = await login(t, '127.0.0.7', user.email, TEST_PASSWORD);
    expect(res.status).toBe(429);
    expect(res.body.code).toBe('LOGIN_THROTTLED');
    await t.sql.query(`DELETE FROM login_attempts WHERE email = $1`, [user.email]);
    expect((await login(t, '127.0.0.7', user.email, TEST_PASSWORD)).status).toBe(200);
  });
});
