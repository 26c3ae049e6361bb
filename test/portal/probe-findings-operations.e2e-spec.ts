import { Role } from '@custodian/core';
import { createTestApp, TestApp } from '@custodian/testing';
import { cookieOf, PortalSession, portalSignIn } from '../support/portal-session';
import { practiceReady } from '../support/practice';

/**
 * What an outsider's probe of the portal found, findings 3, 9 and 10 (in-process, supertest, real
 * PostgreSQL): the statistics' month errors shown raw and not by their fields; upload errors that
 * said two things (and "body"); small ones: the user form's error order, the screening remarks'
 * limit, "(Nhs)", Approve offered on one's own request, the audit trail's impossible pages, and a
 * green "Success" for a session ended by a disabled account.
 */
const text = (html: string) =>
  html
    .replace(/<script[\s\S]*?<\/script>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;|\s+/g, ' ')
    .replace(/&#39;|&rsquo;/g, '’')
    .trim();
/** The error message an NHS.UK component shows for a field (`<id>-error`), as text. */
const fieldError = (html: string, id: string) => {
  const m = new RegExp(`id="${id}-error"[^>]*>([\\s\\S]*?)</span>\\s*(?:<|$)`).exec(html)?.[1];
  return m === undefined ? undefined : text(m).replace(/^Error:\s*/, '');
};
/** The error summary's links, as [text, href]. */
const summary = (html: string) =>
  [
    ...(/nhsuk-error-summary[\s\S]*?<\/ul>/.exec(html)?.[0] ?? '').matchAll(
      /<a href="([^"]+)"[^>]*>([\s\S]*?)<\/a>/g,
    ),
  ].map((m) => [text(m[2]), m[1]]);

describe('portal: an outsider’s probe, findings 3, 9 and 10', () => {
  let t: TestApp;
  let admin: { Authorization: string };

  const signIn = (email: string) => portalSignIn(t, email);
  async function as(roles: Role[], opts: { practiceOds?: string; organisationId?: string } = {}) {
    const user = await t.factory.user({ roles, ...opts });
    return { user, session: await signIn(user.email) };
  }
  const keep = (s: PortalSession, res: { headers: Record<string, unknown> }) => {
    s.cookie = cookieOf(res) ?? s.cookie;
  };
  const get = (s: PortalSession, path: string) => t.http.get(path).set('cookie', s.cookie);
  const post = (s: PortalSession, path: string, form: Record<string, unknown>) =>
    t.http
      .post(path)
      .set('cookie', s.cookie)
      .type('form')
      .send({ _csrf: s.csrf, ...form });

  beforeAll(async () => {
    t = await createTestApp();
    admin = (await t.as('admin')).auth;
    await practiceReady(t, admin, 'A81001');
  }, 120_000);
  afterAll(() => t?.close());

  it('3: impossible statistics months are 400, in plain words by their fields, the summary linking to them', async () => {
    const cases: [string, string, RegExp][] = [
      ['from=2026-12&to=2026-01', 'to', /same as or after the from month/],
      ['from=1900-01&to=2100-12', 'to', /at most 240 months \(20 years\)/],
      ['from=2026-13', 'from', /year and month/],
    ];
    for (const [query, field, words] of cases) {
      const res = await t.http.get(`/published-statistics?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.text, query).toMatch(/<title>Error: /);
      expect(fieldError(res.text, field), query).toMatch(words);
      expect(res.text, query).toMatch(new RegExp(`id="${field}"[^>]*aria-describedby="[^"]*${field}-error`));
      expect(summary(res.text), query).toContainEqual([fieldError(res.text, field), `#${field}`]);
      expect(text(res.text), query).not.toMatch(/\(months\)|months asked for|must be a month/);
    }
  });

  it('9: a refused upload says one plain thing, the same in the summary and by the field, never "body"', async () => {
    const { session } = await as(['practice'], { practiceOds: 'A81001' });
    const sent = await t.http
      .post('/practice/extracts')
      .set('cookie', session.cookie)
      .field('_csrf', session.csrf)
      .attach('file', Buffer.from('{not json\n\u0001\u0002\n'), {
        filename: 'extract.ndjson',
        contentType: 'application/x-ndjson',
      });
    keep(session, sent);
    const page = await get(session, '/practice/extracts').expect(200);
    const [[linked, href]] = summary(page.text);
    expect(href).toBe('#file');
    expect(fieldError(page.text, 'file')).toBe(linked);
    expect(linked).toMatch(/^The extract was not accepted/);
    expect(linked).toMatch(/not FHIR NDJSON/);
    expect(text(page.text)).not.toMatch(/\bbody\b/i);
    // The data manager's uploads alike.
    const dm = await as(['data_manager']);
    const csv = await t.http
      .post('/data-loads/hes')
      .set('cookie', dm.session.cookie)
      .field('_csrf', dm.session.csrf)
      .attach('file', Buffer.from(''), { filename: 'hes.csv', contentType: 'text/csv' });
    keep(dm.session, csv);
    const loads = await get(dm.session, '/data-loads').expect(200);
    const [[dmLinked]] = summary(loads.text);
    expect(fieldError(loads.text, 'file')).toBe(dmLinked);
    expect(text(loads.text)).not.toMatch(/\bbody\b/i);
  });

  it('10: the user form’s errors in page order; organisation kinds as written ("NHS"); no Approve on a role one asked for', async () => {
    const me = await as(['admin']);
    const empty = await post(me.session, '/admin/users/new', {});
    expect(empty.status).toBe(400);
    expect(
      summary(empty.text)
        .map(([, h]) => h)
        .slice(0, 3),
    ).toEqual(['#email', '#displayName', '#password']);
    await t.factory.organisation({ name: 'Leeds Teaching Hospitals NHS Trust', kind: 'nhs' });
    const form = text((await get(me.session, '/admin/users/new').expect(200)).text);
    expect(form).toContain('Leeds Teaching Hospitals NHS Trust (NHS)');
    expect(form).not.toContain('(Nhs)');
    const orgs = text((await get(me.session, '/admin/organisations').expect(200)).text);
    expect(orgs).not.toMatch(/\bNhs\b/);
    // A governance role this admin asked for: no Approve, and why.
    const someone = await t.factory.user({ roles: ['researcher'] });
    const asked = await t.http
      .patch(`/api/users/${someone.id}`)
      .set({ Authorization: `Bearer ${await t.login(me.user.email)}` })
      .send({ roles: ['researcher', 'auditor'] });
    expect(asked.status).toBeLessThan(300);
    const grants = (await t.http.get('/api/role-grants').set(admin).expect(200)).body as {
      id: string;
      userId: string;
    }[];
    const grant = grants.find((g) => g.userId === someone.id)!;
    const users = (await get(me.session, '/admin/users').expect(200)).text;
    expect(users).not.toContain(`action="/admin/role-grants/${grant.id}/approve"`);
    expect(text(users)).toMatch(/You asked for this role: another administrator approves it/);
    // Another admin sees Approve.
    const other = await as(['admin']);
    const theirs = (await get(other.session, '/admin/users').expect(200)).text;
    expect(theirs).toContain(`action="/admin/role-grants/${grant.id}/approve"`);
  });

  it('10: the screening remarks carry the API’s limit (maxlength and hint); longer remarks are an error on the box, the text kept', async () => {
    const centre = (await t.factory.organisation({ kind: 'public_body' })).id;
    const officer = await as(['release_officer'], { organisationId: centre });
    const bid = await t.factory.bid('submitted');
    const page = (await get(officer.session, `/screening/${bid.id}`).expect(200)).text;
    expect(page).toMatch(
      /<textarea[^>]*id="remarks"[^>]*maxlength="5000"|<textarea[^>]*maxlength="5000"[^>]*id="remarks"/,
    );
    expect(text(page)).toMatch(/5,000 characters or fewer/);
    const long = 'x'.repeat(6000);
    const res = await post(officer.session, `/screening/${bid.id}`, { outcome: 'return', remarks: long });
    expect(res.status).toBe(400);
    expect(fieldError(res.text, 'remarks')).toMatch(/5,000 characters or fewer/);
    expect(res.text).toContain(long);
  });

  it('10: impossible audit-trail pages are said so, not silently page 1', async () => {
    const auditor = await as(['auditor']);
    for (const p of ['9999', '-1', 'abc']) {
      const res = await get(auditor.session, `/audit-trail?page=${p}`);
      expect(text(res.text), p).toMatch(/There is no page|is not a page number/);
    }
    const bad = await get(auditor.session, '/audit-trail?page=abc');
    expect(bad.status).toBe(400);
  });

  it('10: a session ended by a disabled account is an "Important" notice, not "Success"', async () => {
    const { user, session } = await as(['researcher']);
    await t.http.patch(`/api/users/${user.id}`).set(admin).send({ disabled: true }).expect(200);
    // The next page the person opens: the API refuses the session, the portal sends them to sign in.
    let res = await get(session, '/requests');
    for (let i = 0; i < 3 && res.status === 303; i++) {
      keep(session, res);
      res = await get(session, String(res.headers.location));
    }
    expect(res.status).toBe(200);
    expect(text(res.text)).toMatch(/Your session has ended/);
    expect(text(res.text)).not.toMatch(/Success/);
    expect(res.text).not.toContain('nhsuk-notification-banner--success');
    expect(text(res.text)).toMatch(/Important/);
  });
});
