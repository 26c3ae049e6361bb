import { createHash } from 'node:crypto';
import { createTestApp, TEST_PASSWORD, TestApp } from '@custodian/testing';

/** Response headers that protect what the service sends (SPEC §7; docs/SECURITY.md). */
describe('security headers', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  it('every API answer that may carry tokens or personal data says Cache-Control: no-store', async () => {
    const r = await t.as('researcher');
    const login = await t.http.post('/api/auth/login').send({ email: r.user.email, password: TEST_PASSWORD });
    const answers = [
      login,
      await t.http.get('/api/auth/me').set(r.auth),
      await t.http.get('/api/bids').set(r.auth),
      await t.http.get('/api/datasets').set(r.auth),
      await t.http.get('/api/bids/00000000-0000-4000-8000-000000000000').set(r.auth),
      await t.http.get('/api/auth/me'),
      await t.http.get('/'),
      await t.http.get('/sign-in'),
    ];
    answers.forEach((a, i) => expect(a.headers['cache-control'], `answer ${i}`).toBe('no-store'));
  });

  it("CSP script-src has no 'unsafe-inline', and every inline script of a page is allowed by its hash", async () => {
    for (const page of ['/', '/sign-in', '/public-register']) {
      const res = await t.http.get(page).expect(200);
      const csp = String(res.headers['content-security-policy']);
      const scriptSrc = csp.split(';').find((d) => d.trim().startsWith('script-src'))!;
      expect(scriptSrc).toBeTruthy();
      expect(scriptSrc).not.toContain('unsafe-inline');
      const inline = [...res.text.matchAll(/<script\b(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)].map(
        (m) => m[1]!,
      );
      expect(inline.length).toBeGreaterThan(0);
      for (const body of inline)
        expect(scriptSrc).toContain(`'sha256-${createHash('sha256').update(body).digest('base64')}'`);
    }
  });
});
