import { ChildProcess } from 'node:child_process';
import { createTestApp, TestApp } from '@custodian/testing';
import { killWorker, startApi } from './support/worker-process';

/**
 * The built API's access log (JSON lines on stdout): one line per request, naming the service,
 * the path and the status — never the query string, a token, a password or an identifier the
 * request carried. The health check (probes) is not logged.
 */
describe('access log', () => {
  let t: TestApp;
  let api: { child: ChildProcess; url: string };
  let out = '';
  beforeAll(async () => {
    t = await createTestApp();
    api = await startApi(t, { LOG_LEVEL: 'info' });
    api.child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  });
  afterAll(async () => {
    if (api) await killWorker(api.child);
    await t?.close();
  });

  /** An access-log line (other lines have no `req`). */
  interface Line {
    service?: string;
    pid?: number;
    req?: { id: string; method: string; path: string; clientRequestId?: string };
    res?: { statusCode: number };
  }
  const lines = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Line);

  it('logs method, path and status with the service name, and nothing the request carried', async () => {
    const password = 'a-researcher-password-9';
    const org = await t.factory.organisation();
    const researcher = await t.factory.user({ password, roles: ['researcher'], organisationId: org.id });
    const login = await fetch(`${api.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: researcher.email, password }),
    });
    expect(login.status).toBe(200);
    const { accessToken } = (await login.json()) as { accessToken: string };
    const nhs = '9434765919';
    const list = await fetch(`${api.url}/api/bids?limit=5&q=${nhs}`, {
      headers: { authorization: `Bearer ${accessToken}`, 'x-request-id': 'log-test-request-0001' },
    });
    expect(list.status).toBeLessThan(500);
    await fetch(`${api.url}/api/health`, { headers: { 'x-request-id': 'log-test-health-0001' } });
    // Portal pages (outside the /api prefix), the home page and a nested path included.
    const pages = {
      '/': 'log-test-page-home',
      '/public-register': 'log-test-page-reg',
      '/requests/new': 'log-test-page-new',
    };
    for (const [page, id] of Object.entries(pages))
      await fetch(`${api.url}${page}`, { headers: { 'x-request-id': id } });
    // The server writes its lines as it answers: wait for each request's (the pages' too — waiting for
    // the first alone let the last page's line arrive after the checks, once in CI, 2026-12-06).
    const awaited = ['log-test-request-0001', ...Object.values(pages)];
    const logged = () => awaited.every((id) => lines().some((l) => l.req?.clientRequestId === id));
    for (let i = 0; i < 100 && !logged(); i++) await new Promise((r) => setTimeout(r, 50));

    const line = lines().find((l) => l.req?.clientRequestId === 'log-test-request-0001');
    expect(line).toMatchObject({
      service: 'custodian',
      req: { method: 'GET', path: '/api/bids' },
      res: { statusCode: list.status },
    });
    expect(typeof line!.pid).toBe('number');
    expect(lines().some((l) => l.req?.path === '/api/auth/login')).toBe(true);
    expect(lines().some((l) => l.req?.clientRequestId === 'log-test-health-0001')).toBe(false);
    // Every request once: one line each, never two. (A portal page's calls into the API carry the
    // page's id, so the pair of id and path is what is unique.)
    const ids = lines()
      .filter((l) => l.req?.id)
      .map((l) => `${l.req!.id} ${l.req!.method} ${l.req!.path}`);
    expect(ids.length).toBe(new Set(ids).size);
    for (const [page, id] of Object.entries(pages))
      expect(lines().find((l) => l.req?.clientRequestId === id)?.req?.path, page).toBe(page);
    for (const secret of [accessToken, password, nhs, 'limit=5']) expect(out).not.toContain(secret);
  });
});
