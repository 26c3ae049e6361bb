import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SESSION_COOKIE } from '@custodian/portal';
import { createTestApp, TestApp, TEST_PASSWORD } from '@custodian/testing';
import { runRelease, seedPractice, addPatient, addEvent, spec } from '../release-helpers';

/**
 * The portal calls the API on the browser's behalf (in process, or over loopback for file
 * streams): the audit trail must name the browser's address and the page's request id, never
 * the loopback address or an id of its own; and no client can choose its request id.
 */
describe('portal: the audit names the real client and request', () => {
  let t: TestApp;
  let port: number;
  const FROM = '127.0.0.23';

  /** A plain HTTP request from a chosen loopback address (a "browser" elsewhere than 127.0.0.1). */
  function send(
    method: string,
    path: string,
    headers: Record<string, string> = {},
    body?: string,
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
    return new Promise((resolve, reject) => {
      const r = httpRequest({ host: '127.0.0.1', port, localAddress: FROM, method, path, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString() }),
        );
      });
      r.on('error', reject);
      r.end(body);
    });
  }
  const cookieOf = (h: Record<string, string | string[] | undefined>) =>
    ([] as string[])
      .concat(h['set-cookie'] ?? [])
      .find((s) => s.startsWith(`${SESSION_COOKIE}=`))!
      .split(';')[0]!;
  const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)![1]!;

  beforeAll(async () => {
    t = await createTestApp();
    const server = t.app.getHttpServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => t?.close());

  it("a client's X-Request-Id is a label, never the request's id", async () => {
    const res = await send('GET', '/api/health', { 'x-request-id': 'forged-correlation-0001' });
    expect(res.headers['x-request-id']).not.toBe('forged-correlation-0001');
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sign-in and a streamed download through the portal are audited with the browser address and the page request id', async () => {
    const officer = await t.as('release_officer');
    const researcher = await t.factory.user({ roles: ['researcher'] });
    await seedPractice(t.sql);
    const pid = await addPatient(t.sql, { nhs: '9000000001' });
    await addEvent(t.sql, pid);
    const rel = await runRelease(t, spec({ recipients: [researcher.id], requestedBy: officer.user.id }), {
      id: officer.user.id,
      roles: officer.user.roles,
    });
    expect(rel.state).toBe('completed');
    const { rows: bid } = await t.sql.query(`SELECT bid_id FROM releases WHERE id = $1`, [rel.id]);

    const page = await send('GET', '/sign-in');
    const form = new URLSearchParams({
      _csrf: csrfOf(page.text),
      email: researcher.email,
      password: TEST_PASSWORD,
    });
    const signedIn = await send(
      'POST',
      '/sign-in',
      {
        cookie: cookieOf(page.headers),
        'content-type': 'application/x-www-form-urlencoded',
        'x-request-id': 'forged-signin-00001',
      },
      form.toString(),
    );
    expect(signedIn.status).toBe(303);
    const login = await t.sql.query(
      `SELECT ip, request_id FROM audit_log WHERE action = 'auth.login' AND actor_id = $1 ORDER BY id DESC LIMIT 1`,
      [researcher.id],
    );
    expect(login.rows[0]).toMatchObject({ request_id: signedIn.headers['x-request-id'] });
    expect(login.rows[0].ip).toContain(FROM);

    const file = await send('GET', `/requests/${bid[0].bid_id}/releases/${rel.id}/files/gp.csv.gz`, {
      cookie: cookieOf(signedIn.headers),
    });
    expect(file.status).toBe(200);
    const dl = await t.sql.query(
      `SELECT ip, request_id FROM audit_log WHERE action = 'release.downloaded' AND actor_id = $1 ORDER BY id DESC LIMIT 1`,
      [researcher.id],
    );
    expect(dl.rows[0]).toMatchObject({ request_id: file.headers['x-request-id'] });
    expect(dl.rows[0].ip).toContain(FROM);
  });
});
