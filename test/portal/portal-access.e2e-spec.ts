import { randomUUID } from 'node:crypto';
import { ROLES, Role } from '@custodian/core';
import {
  deriveSessionKey,
  openSession,
  PORTAL_CONTROLLERS,
  portalRoutes,
  sealSession,
  SESSION_COOKIE,
} from '@custodian/portal';
import { createTestApp, TestApp, TEST_PASSWORD } from '@custodian/testing';

/**
 * The portal's own access rules (its pages are @Public() to the API's bearer guards and excluded
 * from the API's route snapshot and access matrix): a hand-written table of who may open each
 * page, checked against the declarations and against real requests with real sessions.
 */
const PAGES: Record<string, 'public' | 'signed-in' | Role[]> = {
  'GET /': 'public',
  'GET /sign-in': 'public',
  'POST /sign-in': 'public',
  'GET /sign-out': 'signed-in',
  'POST /sign-out': 'signed-in',
  'GET /public-register': 'public',
  'GET /published-statistics': 'public',
  'GET /requests': ['researcher'],
  'GET /requests/new': ['researcher'],
  'POST /requests/new': ['researcher'],
  'GET /requests/:id': ['researcher'],
  'POST /requests/:id/submit': ['researcher'],
  'POST /requests/:id/accept': ['researcher'],
  'GET /requests/:id/releases/:releaseId/files/:name': ['researcher'],
  'GET /requests/:id/edit': ['researcher'],
  'GET /requests/:id/amend': ['researcher'],
  'POST /requests/:id/amend': ['researcher'],
  'GET /requests/:id/amendments/:version': ['researcher'],
  'POST /requests/:id/amendments/:version/withdraw': ['researcher'],
  'GET /screening/:id/amendments/:version': ['release_officer'],
  'POST /screening/:id/amendments/:version': ['release_officer'],
  'GET /panel/:id/amendments/:version': ['panel_member'],
  'POST /panel/:id/amendments/:version': ['panel_member'],
  'POST /requests/:id/edit': ['researcher'],
  'GET /requests/:id/withdraw': ['researcher'],
  'POST /requests/:id/withdraw': ['researcher'],
  'GET /requests/:id/cohort': ['researcher'],
  'POST /requests/:id/cohort': ['researcher'],
  'PUT /requests/:id/cohort': ['researcher'],
  'GET /panel': ['panel_member'],
  'GET /panel/:id': ['panel_member'],
  'POST /panel/:id/vote': ['panel_member'],
  'GET /screening': ['release_officer'],
  'GET /screening/:id': ['release_officer'],
  'POST /screening/:id': ['release_officer'],
  'GET /data-releases': ['release_officer'],
  'POST /data-releases': ['release_officer'],
  'GET /data-releases/:id': ['release_officer'],
  'GET /practice': ['practice'],
  'POST /practice/awareness': ['practice'],
  'GET /practice/extracts': ['practice'],
  'POST /practice/extracts': ['practice'],
  'GET /practice/extracts/:id': ['practice'],
  'GET /practice/objections': ['practice'],
  'POST /practice/objections': ['practice'],
  'GET /data-loads': ['data_manager'],
  'POST /data-loads/hes': ['data_manager'],
  'POST /data-loads/social-care': ['data_manager'],
  'GET /data-loads/:id': ['data_manager'],
  'GET /admin/organisations': ['admin'],
  'POST /admin/organisations': ['admin'],
  'GET /admin/users': ['admin'],
  'GET /admin/users/new': ['admin'],
  'POST /admin/users/new': ['admin'],
  'GET /admin/users/:id': ['admin'],
  'POST /admin/users/:id': ['admin'],
  'GET /admin/users/:id/access': ['admin'],
  'POST /admin/users/:id/access': ['admin'],
  'POST /admin/role-grants/:id/:decision': ['admin'],
  'GET /admin/practices': ['admin'],
  'POST /admin/practices': ['admin'],
  'POST /admin/practices/:ods/rollout': ['admin'],
  'GET /admin/practices/national-rollout': ['admin'],
  'POST /admin/practices/national-rollout': ['admin'],
  'GET /admin/agreements': ['admin'],
  'GET /admin/agreements/:id/revoke': ['admin'],
  'POST /admin/agreements/:id/revoke': ['admin'],
  'GET /audit-trail': ['auditor'],
  'GET /audit-trail/export': ['auditor'],
  'GET /audit-trail/verify': ['auditor'],
  'GET /notices': 'signed-in',
  'POST /notices/:id/read': 'signed-in',
  'GET /admin/notifications': ['admin'],
};

interface Browser {
  cookie: string;
  csrf: string;
}

const cookieOf = (res: { headers: Record<string, unknown> }): string | undefined => {
  const set = ([] as string[]).concat((res.headers['set-cookie'] as string[] | string | undefined) ?? []);
  const c = set.find((s) => s.startsWith(`${SESSION_COOKIE}=`));
  return c?.split(';')[0];
};
const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';

describe('portal access', () => {
  let t: TestApp;
  const sessions = new Map<Role, Browser>();

  async function signIn(email: string): Promise<Browser> {
    const page = await t.http.get('/sign-in').expect(200);
    const cookie = cookieOf(page)!;
    const res = await t.http
      .post('/sign-in')
      .set('cookie', cookie)
      .type('form')
      .send({ _csrf: csrfOf(page.text), email, password: TEST_PASSWORD });
    expect(res.status).toBe(303);
    const signedIn = cookieOf(res)!;
    const home = await t.http.get('/').set('cookie', signedIn).expect(200);
    return {
      cookie: signedIn,
      csrf: csrfOf(home.text) || csrfOf((await t.http.get('/sign-out').set('cookie', signedIn)).text),
    };
  }

  beforeAll(async () => {
    t = await createTestApp();
    for (const role of ROLES) {
      const user = await t.factory.user({ roles: [role] });
      sessions.set(role, await signIn(user.email));
    }
  }, 120_000);
  afterAll(() => t?.close());

  it('every portal page declares who may open it, and the table here matches', async () => {
    const routes = portalRoutes([...PORTAL_CONTROLLERS]);
    expect(routes.filter((r) => r.access === 'UNDECLARED')).toEqual([]);
    expect(Object.fromEntries(routes.map((r) => [`${r.method} ${r.path}`, r.access]))).toEqual(
      Object.fromEntries(Object.entries(PAGES).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v])),
    );
    const text = routes.map((r) => `${r.method.padEnd(6)} ${r.path.padEnd(48)} ${r.access}`).join('\n');
    await expect(`${text}\n`).toMatchFileSnapshot('../__snapshots__/portal-routes.txt');
  });

  it('the API keeps its /api prefix; the portal pages are served from /', async () => {
    await t.http.get('/api/health').expect(200);
    await t.http.get('/health').expect(404);
    await t.http.get('/api/datasets').expect(401);
    const home = await t.http.get('/').expect(200);
    expect(home.headers['content-type']).toMatch(/text\/html/);
    expect(home.text).toContain('Skip to main content');
    await t.http.get('/assets/nhsuk/nhsuk-frontend.min.css').expect(200);
    const doc = await t.http.get('/api/docs-json').expect(200);
    expect(Object.keys(doc.body.paths).every((p) => p.startsWith('/api/'))).toBe(true);
  });

  it('sends anonymous visitors to sign-in, refuses other roles, and opens each page to its roles', async () => {
    const wrong: string[] = [];
    for (const [key, access] of Object.entries(PAGES)) {
      const [method, path] = key.split(' ');
      if (method !== 'GET' || access === 'public') continue;
      const url = path
        .replace(/:name/, 'manifest.json')
        .replace(/:version/, '2')
        .replace(/:\w+/g, () => randomUUID());
      const anon = await t.http.get(url);
      if (anon.status !== 303 || !String(anon.headers.location).startsWith('/sign-in?next='))
        wrong.push(`${key} anonymous → ${anon.status} ${anon.headers.location}`);
      for (const role of ROLES) {
        const res = await t.http.get(url).set('cookie', sessions.get(role)!.cookie);
        const allowed = access === 'signed-in' || access.includes(role);
        // Allowed: the page, or the API's own answer for a random id (404), never the portal's 403.
        const ok = allowed ? [200, 404].includes(res.status) : res.status === 403;
        if (!ok) wrong.push(`${key} ${role} → ${res.status}`);
        if (res.status >= 500) wrong.push(`${key} ${role} → ${res.status}`);
        // Pages are HTML; an export the role may make is its file.
        const type = allowed && path.endsWith('/export') ? /text\/csv/ : /text\/html/;
        if (res.status !== 303) expect(res.headers['content-type']).toMatch(type);
      }
    }
    expect(wrong).toEqual([]);
  }, 120_000);

  it('refuses every form without the session’s CSRF token, and audits it', async () => {
    const researcher = sessions.get('researcher')!;
    const forged = await t.http
      .post('/requests/new')
      .set('cookie', researcher.cookie)
      .type('form')
      .send({ title: 'A forged request' });
    expect(forged.status).toBe(403);
    expect(forged.text).toContain('Your form could not be sent');
    const wrongToken = await t.http
      .post('/sign-out')
      .set('cookie', researcher.cookie)
      .type('form')
      .send({ _csrf: 'x'.repeat(43) });
    expect(wrongToken.status).toBe(403);
    const noCookie = await t.http
      .post('/sign-in')
      .type('form')
      .send({ _csrf: researcher.csrf, email: 'a@b.cd' });
    expect(noCookie.status).toBe(403);
    const { rows } = await t.sql.query(
      `SELECT count(*)::int AS n FROM audit_log WHERE action = 'portal.csrf_rejected'`,
    );
    expect(rows[0].n).toBeGreaterThanOrEqual(3);
  });

  it('keeps the tokens in an encrypted, HttpOnly, Secure, SameSite=Strict cookie that cannot be altered', async () => {
    const page = await t.http.get('/sign-in').expect(200);
    const header = ([] as string[]).concat(page.headers['set-cookie'] as unknown as string[])[0];
    expect(header).toMatch(/HttpOnly/);
    expect(header).toMatch(/Secure/);
    expect(header).toMatch(/SameSite=Strict/);
    expect(header).toMatch(/Path=\//);
    const researcher = sessions.get('researcher')!;
    const value = researcher.cookie.split('=')[1];
    // No readable JWT inside (header.payload.signature, base64url; the ciphertext has no dots, and
    // may hold "eyJ" by chance, which failed this test about one run in three hundred).
    expect(value).not.toMatch(/eyJ[\w-]*\.[\w-]+\.[\w-]*/);
    expect(Buffer.from(value.replace(/^v1\./, ''), 'base64url').toString('latin1')).not.toMatch(
      /"alg"|"sub"/,
    );
    const flipped = `${value.slice(0, -3)}${value.at(-3) === 'A' ? 'B' : 'A'}${value.slice(-2)}`;
    const res = await t.http.get('/requests').set('cookie', `${SESSION_COOKIE}=${flipped}`);
    expect(res.status).toBe(303);
    const key = deriveSessionKey(t.config.jwtSecret);
    expect(openSession(key, value)?.auth?.user.roles).toEqual(['researcher']);
    expect(openSession(deriveSessionKey('another-secret-that-is-long-enough-000000'), value)).toBeUndefined();
    const expired = sealSession(key, { ...openSession(key, value)!, exp: Math.floor(Date.now() / 1000) - 1 });
    expect((await t.http.get('/requests').set('cookie', `${SESSION_COOKIE}=${expired}`)).status).toBe(303);
  });

  it('refreshes an expired access token transparently, and sign-out revokes the API session', async () => {
    const user = await t.factory.user({ roles: ['researcher'] });
    const b = await signIn(user.email);
    const key = deriveSessionKey(t.config.jwtSecret);
    const session = openSession(key, b.cookie.split('=')[1])!;
    const oldRefresh = session.auth!.refreshToken;
    // Pretend the access token has expired: the next page refreshes it and rewrites the cookie.
    const aged = sealSession(key, { ...session, auth: { ...session.auth!, accessExp: 0 } });
    const res = await t.http.get('/requests').set('cookie', `${SESSION_COOKIE}=${aged}`).expect(200);
    const renewed = openSession(key, cookieOf(res)!.split('=')[1])!;
    expect(renewed.auth!.refreshToken).not.toBe(oldRefresh);
    expect(renewed.auth!.accessExp).toBeGreaterThan(Date.now() / 1000);
    // A garbage access token is refused by the API: one refresh, one retry, the page still works.
    const garbled = sealSession(key, { ...renewed, auth: { ...renewed.auth!, accessToken: 'not.a.jwt' } });
    const retried = await t.http.get('/requests').set('cookie', `${SESSION_COOKIE}=${garbled}`);
    expect(retried.status).toBe(200);
    const current = cookieOf(retried)!;
    const csrf = csrfOf((await t.http.get('/sign-out').set('cookie', current)).text);
    const out = await t.http.post('/sign-out').set('cookie', current).type('form').send({ _csrf: csrf });
    expect(out.status).toBe(303);
    // The old cookie no longer works: the API session behind it was revoked.
    const after = await t.http.get('/requests').set('cookie', current);
    expect(after.status).toBe(303);
    const { rows } = await t.sql.query(
      `SELECT count(*)::int AS n FROM auth_sessions WHERE user_id = $1 AND revoked_at IS NOT NULL`,
      [user.id],
    );
    expect(rows[0].n).toBe(1);
  });

  it('an old cookie presented after its refresh token was rotated never receives the new pair (no reuse window)', async () => {
    const user = await t.factory.user({ roles: ['researcher'] });
    const b = await signIn(user.email);
    const key = deriveSessionKey(t.config.jwtSecret);
    const session = openSession(key, b.cookie.split('=')[1])!;
    const aged = sealSession(key, { ...session, auth: { ...session.auth!, accessExp: 0 } });
    const first = await t.http.get('/requests').set('cookie', `${SESSION_COOKIE}=${aged}`).expect(200);
    const renewed = openSession(key, cookieOf(first)!.split('=')[1])!;
    expect(renewed.auth!.refreshToken).not.toBe(session.auth!.refreshToken);
    // Someone else presents the old cookie (its access token expired) seconds later.
    const replay = await t.http.get('/requests').set('cookie', `${SESSION_COOKIE}=${aged}`);
    expect(replay.status).toBe(303);
    expect(replay.headers.location).toMatch(/^\/sign-in/);
    const replayed = cookieOf(replay);
    const opened = replayed ? openSession(key, replayed.split('=')[1]) : undefined;
    expect(opened?.auth).toBeUndefined();
    // The browser that refreshed goes on working.
    await t.http.get('/requests').set('cookie', cookieOf(first)!).expect(200);
  });

  it('another organisation’s request is the API’s 404, shown as a page (the API decides, not the portal)', async () => {
    const owner = await t.as('researcher');
    const bid = await t.http
      .post('/api/bids')
      .set(owner.auth)
      .send({
        title: 'Asthma by area',
        purpose: 'Count asthma by postcode area.',
        publicBenefit: 'Targets air-quality work.',
        legalBasis: 'none',
        requestedTier: 'aggregate',
        datasets: [{ dataset: 'gp', fields: ['sex', 'code'] }],
        aggregation: { dimensions: ['sex'] },
        durationMonths: 6,
      })
      .expect(201);
    const mine = await signIn(owner.user.email);
    const own = await t.http.get(`/requests/${bid.body.id}`).set('cookie', mine.cookie).expect(200);
    expect(own.text).toContain('Asthma by area');
    expect(own.text).toContain('aggregate.csv.gz');
    const other = sessions.get('researcher')!; // a researcher of another organisation
    const res = await t.http.get(`/requests/${bid.body.id}`).set('cookie', other.cookie);
    expect(res.status).toBe(404);
    expect(res.text).toContain('Page not found');
    expect(res.text).not.toContain('Asthma by area');
  });

  it("an address nothing answers is a page, not the API's JSON; the API keeps its JSON (a walk-through, 2026-12-06)", async () => {
    const user = await t.factory.user({ roles: ['researcher'] });
    const signedIn = await signIn(user.email);
    for (const cookie of [undefined, signedIn.cookie])
      for (const path of ['/nope', '/requests/', '/requests/x/y/z']) {
        const req = t.http.get(path).set('accept', 'text/html');
        const res = cookie ? await req.set('cookie', cookie) : await req;
        expect(res.status, path).toBe(404);
        expect(res.headers['content-type'], path).toMatch(/^text\/html/);
        expect(res.text, path).toContain('Page not found');
        expect(res.text, path).not.toContain('"code"');
      }
    const api = await t.http.get('/api/nope').expect(404);
    expect(api.body).toMatchObject({ statusCode: 404, code: 'NOT_FOUND' });
  });

  it('a request back in review shows no decision of its last round (a walk-through, 2026-12-06)', async () => {
    const b = await t.factory.bid('in_review');
    const org = (await t.factory.organisation({ kind: 'public_body' })).id;
    for (let i = 0; i < t.config.panelQuorum; i++) {
      const member = await t.as('panel_member', { organisationId: org });
      const v = await t.http
        .post(`/api/bids/${b.id}/votes`)
        .set(member.auth)
        .send({ decision: 'return', conflictOfInterest: false, conditions: ['Narrow the cohort'] })
        .expect(201);
      if (v.body.bidState !== 'in_review') break;
    }
    const applicant = await signIn((b.researcher.user as unknown as { email: string }).email);
    const page = async () =>
      (await t.http.get(`/requests/${b.id}`).set('cookie', applicant.cookie).expect(200)).text;
    expect(await page()).toContain('<h2>Decision</h2>');
    expect(await page()).toContain('Narrow the cohort');
    await t.http.post(`/api/bids/${b.id}/submit`).set(b.researcher.auth).expect(200);
    await t.http
      .post(`/api/bids/${b.id}/screen`)
      .set(b.officer!.auth)
      .send({ outcome: 'accept', remarks: 'complete' })
      .expect(200);
    expect(await page()).not.toContain('<h2>Decision</h2>');
  });

  it('only sends people to same-site pages after sign-in (no open redirect)', async () => {
    const user = await t.factory.user({ roles: ['panel_member'] });
    const page = await t.http.get('/sign-in?next=//evil.example/x').expect(200);
    const res = await t.http
      .post('/sign-in?next=//evil.example/x')
      .set('cookie', cookieOf(page)!)
      .type('form')
      .send({ _csrf: csrfOf(page.text), email: user.email, password: TEST_PASSWORD });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/panel');
  });

  it('shows a wrong password as an error summary, without saying which part was wrong', async () => {
    const page = await t.http.get('/sign-in').expect(200);
    const res = await t.http
      .post('/sign-in')
      .set('cookie', cookieOf(page)!)
      .type('form')
      .send({ _csrf: csrfOf(page.text), email: 'nobody@example.org', password: 'wrong-password-123' });
    expect(res.status).toBe(400);
    expect(res.text).toContain('There is a problem');
    expect(res.text).toContain('The email address or password is not correct');
    expect(res.text).toContain('href="#email"');
  });

  it('a pathological email (a@ + dots + @) is answered at once, and an oversized field is refused before any check (no ReDoS)', async () => {
    const page = await t.http.get('/sign-in').expect(200);
    const send = (email: string) =>
      t.http
        .post('/sign-in')
        .set('cookie', cookieOf(page)!)
        .type('form')
        .send({ _csrf: csrfOf(page.text), email, password: 'wrong-password-123' });
    let t0 = Date.now();
    const longest = await send(`a@${'.'.repeat(19_990)}@`);
    expect(longest.status).toBe(400);
    expect(longest.text).toContain('Enter an email address in the correct format');
    expect(Date.now() - t0).toBeLessThan(1000);
    t0 = Date.now();
    const huge = await send(`a@${'.'.repeat(80_000)}@`);
    expect(huge.status).toBe(413);
    expect(Date.now() - t0).toBeLessThan(1000);
    // The event loop was free all along: health answers at once.
    t0 = Date.now();
    await t.http.get('/api/health').expect(200);
    expect(Date.now() - t0).toBeLessThan(500);
  });
});
