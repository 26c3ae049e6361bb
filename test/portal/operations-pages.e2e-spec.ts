import { Role } from '@custodian/core';
import { createTestApp, TestApp, TEST_PASSWORD } from '@custodian/testing';
import { SESSION_COOKIE } from '@custodian/portal';
import { condition, ndjson, nhsNumber, patient } from '../support/fhir';
import { practiceReady, upload } from '../support/practice';
import { HES_HEADER, hes, toCsv } from '../linkage-fixtures';

/**
 * The portal's pages for practices, data managers, administrators and auditors, in-process
 * (supertest, real PostgreSQL, real API underneath): streamed uploads with their CSRF check, the
 * reports, the objection form's answers, the audit trail's filters, export and verification, and
 * the API routes the pages read (a practice's extracts, its objection counts).
 */
interface Session {
  cookie: string;
  csrf: string;
}
const cookieOf = (res: { headers: Record<string, unknown> }): string | undefined =>
  ([] as string[])
    .concat((res.headers['set-cookie'] as string[] | string | undefined) ?? [])
    .find((s) => s.startsWith(`${SESSION_COOKIE}=`))
    ?.split(';')[0];
const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';

describe('portal pages for practice, data manager, admin and auditor', () => {
  let t: TestApp;
  let admin: { Authorization: string };
  let practiceA: { Authorization: string };
  let practiceB: { Authorization: string };

  async function signIn(email: string): Promise<Session> {
    const page = await t.http.get('/sign-in').expect(200);
    const res = await t.http
      .post('/sign-in')
      .set('cookie', cookieOf(page)!)
      .type('form')
      .send({ _csrf: csrfOf(page.text), email, password: TEST_PASSWORD });
    expect(res.status).toBe(303);
    const cookie = cookieOf(res)!;
    // The sign-out page carries the session's form token.
    const out = await t.http.get('/sign-out').set('cookie', cookie).expect(200);
    return { cookie, csrf: csrfOf(out.text) };
  }
  async function as(roles: Role[], opts: { practiceOds?: string } = {}) {
    const user = await t.factory.user({ roles, ...opts });
    return { user, session: await signIn(user.email) };
  }
  /** Follows a page's cookie changes (flash messages, refreshed tokens). */
  const keep = (s: Session, res: { headers: Record<string, unknown> }) => {
    s.cookie = cookieOf(res) ?? s.cookie;
  };

  beforeAll(async () => {
    t = await createTestApp();
    admin = (await t.as('admin')).auth;
    practiceA = await practiceReady(t, admin, 'A81001');
    practiceB = await practiceReady(t, admin, 'B82002');
  }, 120_000);
  afterAll(() => t?.close());

  it('API: a practice lists its own extracts (another practice’s list is 404) and reads its objection counts', async () => {
    const n = nhsNumber(700_001);
    await upload(t, practiceA, 'A81001', ndjson([patient('p1', n), condition('c1', 'p1')])).expect(201);
    const list = await t.http.get('/api/practices/A81001/extracts').set(practiceA).expect(200);
    expect(list.body).toEqual([
      expect.objectContaining({ lines: 2, patients: 1, resources: 1, rejectedCount: 0, warnings: 0 }),
    ]);
    await t.http.get('/api/practices/A81001/extracts').set(practiceB).expect(404);
    await t.http.get('/api/practices/A81001/extracts').set(admin).expect(200);
    await t.http
      .post('/api/objections')
      .set(practiceA)
      .send({ nhsNumber: n, type: 'type2', action: 'register' })
      .expect(201);
    const a = await t.http.get('/api/objections/summary').set(practiceA).expect(200);
    expect(a.body).toEqual({
      active: { type1: 0, type2: 1 },
      recorded: { register: 1, withdraw: 0, fromExtracts: 0, fromApi: 1 },
    });
    // B holds nothing of A's patient: its counts say nothing about it.
    const b = await t.http.get('/api/objections/summary').set(practiceB).expect(200);
    expect(b.body.active).toEqual({ type1: 0, type2: 0 });
    await t.http.get('/api/objections/summary').set(admin).expect(403);
  });

  it('practice: the overview, an extract streamed through the upload form, its report with line numbers; a form without its token is refused', async () => {
    const { session } = await as(['practice'], { practiceOds: 'A81001' });
    const overview = await t.http.get('/practice').set('cookie', session.cookie).expect(200);
    expect(overview.text).toContain('Surgery A81001');
    expect(overview.text).toContain('Extracts are open');
    const extract = ndjson([patient('p2', nhsNumber(700_002)), condition('c2', 'p2')]) + '{not json\n';
    const sent = await t.http
      .post('/practice/extracts')
      .set('cookie', session.cookie)
      .field('_csrf', session.csrf)
      .attach('file', Buffer.from(extract), {
        filename: 'extract.ndjson',
        contentType: 'application/x-ndjson',
      });
    expect(sent.status).toBe(303);
    expect(sent.headers.location).toMatch(/^\/practice\/extracts\/[0-9a-f-]{36}$/);
    keep(session, sent);
    const report = await t.http.get(sent.headers.location).set('cookie', session.cookie).expect(200);
    expect(report.text).toContain('Extract received');
    expect(report.text).toContain('1 line was refused: the report below says why.');
    expect(report.text).toMatch(/<td[^>]*data-label="Line">3<\/td>/);
    // A file of no JSON at all (an image, a text file) is not an extract: refused whole, and said so.
    const notNdjson = await t.http
      .post('/practice/extracts')
      .set('cookie', session.cookie)
      .field('_csrf', session.csrf)
      .attach('file', Buffer.from('{not json\n\u0001\u0002\n'), {
        filename: 'extract.ndjson',
        contentType: 'application/x-ndjson',
      });
    keep(session, notNdjson);
    expect(notNdjson.headers.location).toBe('/practice/extracts');
    const refusedPage = await t.http.get('/practice/extracts').set('cookie', session.cookie).expect(200);
    keep(session, refusedPage);
    expect(refusedPage.text).toContain('The extract was not accepted');
    expect(refusedPage.text).toContain(
      'The extract was not accepted. The file is not FHIR NDJSON: no line of it is a JSON object. Is it the right file? Nothing from it was stored.',
    );
    // A file of refused resources stores nothing: no "Success" (a portal walk-through, 2026-12-06).
    const junk = await t.http
      .post('/practice/extracts')
      .set('cookie', session.cookie)
      .field('_csrf', session.csrf)
      .attach('file', Buffer.from('{"resourceType":"Patient"}\n{"resource":"none"}\n'), {
        filename: 'extract.ndjson',
        contentType: 'application/x-ndjson',
      });
    keep(session, junk);
    const junkReport = await t.http.get(junk.headers.location).set('cookie', session.cookie).expect(200);
    expect(junkReport.text).toContain('Nothing new was stored');
    expect(junkReport.text).toContain('2 lines were refused');
    expect(junkReport.text).not.toContain('Success');
    // … and the report does not say "the rest of the extract was" stored (a walk-through).
    expect(junkReport.text).not.toContain('the rest of the extract was');
    expect(junkReport.text).toContain('nothing else from the extract was');
    // The progress script asks for the next page as JSON.
    const xhr = await t.http
      .post('/practice/extracts')
      .set('cookie', session.cookie)
      .set('x-portal-upload', 'xhr')
      .field('_csrf', session.csrf)
      .attach('file', Buffer.from(extract), {
        filename: 'extract.ndjson',
        contentType: 'application/x-ndjson',
      });
    expect(xhr.status).toBe(200);
    expect(xhr.body.location).toMatch(/^\/practice\/extracts\/[0-9a-f-]{36}$/);
    const list = await t.http.get('/practice/extracts').set('cookie', session.cookie).expect(200);
    expect(list.text.match(/href="\/practice\/extracts\/[0-9a-f-]{36}"/g)?.length).toBeGreaterThanOrEqual(2);

    const before = (await t.sql.query(`SELECT count(*)::int AS n FROM extracts`)).rows[0].n;
    const forged = await t.http
      .post('/practice/extracts')
      .set('cookie', session.cookie)
      .field('_csrf', 'x'.repeat(43))
      .attach('file', Buffer.from(extract), {
        filename: 'extract.ndjson',
        contentType: 'application/x-ndjson',
      });
    expect(forged.status).toBe(403);
    expect(forged.text).toContain('Your form could not be sent');
    expect((await t.sql.query(`SELECT count(*)::int AS n FROM extracts`)).rows[0].n).toBe(before);
    const audited = await t.sql.query(
      `SELECT count(*)::int AS n FROM audit_log WHERE action = 'portal.csrf_rejected' AND details->>'route' = '/practice/extracts'`,
    );
    expect(audited.rows[0].n).toBe(1);
  });

  it('practice: an objection is registered through the form; a withdrawal it may not make reads like an unknown NHS number', async () => {
    const held = nhsNumber(700_003);
    await upload(t, practiceA, 'A81001', ndjson([patient('p3', held)])).expect(201);
    const a = (await as(['practice'], { practiceOds: 'A81001' })).session;
    const b = (await as(['practice'], { practiceOds: 'B82002' })).session;
    const reg = await t.http
      .post('/practice/objections')
      .set('cookie', a.cookie)
      .type('form')
      .send({ _csrf: a.csrf, nhsNumber: held, type: 'type2', action: 'register' });
    expect(reg.status).toBe(303);
    keep(a, reg);
    const after = await t.http.get('/practice/objections').set('cookie', a.cookie).expect(200);
    expect(after.text).toContain('Type 2 objection registered');
    const refused = await t.http
      .post('/practice/objections')
      .set('cookie', b.cookie)
      .type('form')
      .send({ _csrf: b.csrf, nhsNumber: held, type: 'type2', action: 'withdraw' });
    const unknown = await t.http
      .post('/practice/objections')
      .set('cookie', b.cookie)
      .type('form')
      .send({ _csrf: b.csrf, nhsNumber: nhsNumber(700_999), type: 'type2', action: 'withdraw' });
    expect(refused.status).toBe(400);
    const message = (html: string) =>
      /class="nhsuk-error-message"[^>]*>([\s\S]*?)<\/span>\s*(?:<input|<div)/.exec(html)?.[1];
    expect(message(refused.text)).toBeTruthy();
    expect(message(refused.text)).toBe(message(unknown.text));
    const bad = await t.http
      .post('/practice/objections')
      .set('cookie', b.cookie)
      .type('form')
      .send({ _csrf: b.csrf, nhsNumber: '12345', type: '', action: '' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('href="#nhsNumber"');
    expect(bad.text).toContain('href="#type"');
  });

  it('data manager: a HES file streamed through the form, the load report with each step in words and every rejected row', async () => {
    const { session } = await as(['data_manager']);
    const csv = toCsv(HES_HEADER, [
      hes('E1', nhsNumber(700_001), '1980-05-17', '1', 'LS6 1AB'),
      hes('E2', '1234567890', 'not-a-date', '7', 'LS6 1AB'),
    ]);
    const sent = await t.http
      .post('/data-loads/hes')
      .set('cookie', session.cookie)
      .field('_csrf', session.csrf)
      .attach('file', Buffer.from(csv), { filename: 'hes.csv', contentType: 'text/csv' });
    expect(sent.status, sent.text.slice(-3000)).toBe(303);
    expect(sent.headers.location).toMatch(/^\/data-loads\/[0-9a-f-]{36}$/);
    keep(session, sent);
    const report = await t.http.get(sent.headers.location).set('cookie', session.cookie).expect(200);
    expect(report.text).toContain('Hospital episodes (HES admitted patient care)');
    expect(report.text).toContain('NHS number, sex, date of birth and postcode all agree.');
    expect(report.text).toMatch(/<td[^>]*data-label="Row">2<\/td>/);
    // Every reason of a row, not only the first.
    expect(report.text).toMatch(
      /data-label="Reasons">Invalid NHS number; Invalid date of birth; Invalid sex</,
    );
    const list = await t.http.get('/data-loads').set('cookie', session.cookie).expect(200);
    expect(list.text).toContain(sent.headers.location);
    // Every row refused: not "Success" (a walk-through, 2026-12-06).
    const allBad = await t.http
      .post('/data-loads/hes')
      .set('cookie', session.cookie)
      .field('_csrf', session.csrf)
      .attach(
        'file',
        Buffer.from(toCsv(HES_HEADER, [hes('E9', '1234567890', 'not-a-date', '7', 'LS6 1AB')])),
        {
          filename: 'hes.csv',
          contentType: 'text/csv',
        },
      );
    expect(allBad.status).toBe(303);
    keep(session, allBad);
    const allBadReport = await t.http.get(allBad.headers.location).set('cookie', session.cookie).expect(200);
    expect(allBadReport.text).toContain('Nothing from the file was stored');
    expect(allBadReport.text).not.toContain('File loaded and linked');
    // No file chosen: the page says so, nothing is loaded.
    const none = await t.http
      .post('/data-loads/social-care')
      .set('cookie', session.cookie)
      .field('_csrf', session.csrf)
      .attach('file', Buffer.alloc(0), { filename: '', contentType: 'text/csv' });
    expect(none.status).toBe(303);
    expect(none.headers.location).toBe('/data-loads');
    keep(session, none);
    // A file the API refuses: the portal's error pattern — "Error:" in the title, "There is a
    // problem", the message next to the field, one sentence each (a walk-through, 2026-12-06).
    const wrong = await t.http
      .post('/data-loads/hes')
      .set('cookie', session.cookie)
      .field('_csrf', session.csrf)
      .attach('file', Buffer.from('A,B\n1,2\n'), { filename: 'x.csv', contentType: 'text/csv' });
    expect(wrong.status).toBe(303);
    keep(session, wrong);
    const shown = await t.http.get('/data-loads').set('cookie', session.cookie).expect(200);
    expect(shown.text).toMatch(/<title>Error: /);
    expect(shown.text).toContain('There is a problem');
    expect(shown.text).toMatch(/<span class="nhsuk-error-message" id="file-error">/);
    expect(shown.text).toMatch(/aria-describedby="file-hint file-error"/);
    expect(shown.text).toMatch(/[.] Nothing from it was stored[.]/);
    expect(shown.text).toContain('href="#file"');
    // The social-care form's error is the social-care field's: the summary links there, the message
    // sits by it, and the HES field is untouched (a walk-through, 2026-12-06: both went to #file).
    const wrongSocial = await t.http
      .post('/data-loads/social-care')
      .set('cookie', session.cookie)
      .field('_csrf', session.csrf)
      .attach('file', Buffer.from('A,B\n1,2\n'), { filename: 'x.csv', contentType: 'text/csv' });
    expect(wrongSocial.status).toBe(303);
    keep(session, wrongSocial);
    const social = await t.http.get('/data-loads').set('cookie', session.cookie).expect(200);
    expect(social.text).toContain('href="#social-care-file"');
    expect(social.text).toMatch(/id="social-care-file-error"/);
    expect(social.text).not.toMatch(/id="file-error"/);
  });

  it('admin: creates an organisation, a user with several roles, moves a practice; disabling asks first', async () => {
    const { session, user } = await as(['admin']);
    const org = await t.http
      .post('/admin/organisations')
      .set('cookie', session.cookie)
      .type('form')
      .send({ _csrf: session.csrf, name: 'University of Porto', kind: 'academic' });
    expect(org.status).toBe(303);
    const orgs = await t.http.get('/admin/organisations').set('cookie', session.cookie).expect(200);
    expect(orgs.text).toContain('University of Porto');
    const orgId = (await t.sql.query(`SELECT id FROM organisations WHERE name = 'University of Porto'`))
      .rows[0].id;
    const created = await t.http
      .post('/admin/users/new')
      .set('cookie', session.cookie)
      .type('form')
      .send({
        _csrf: session.csrf,
        email: 'two.roles@porto.example',
        displayName: 'Two Roles',
        password: 'a-long-enough-password',
        roles: ['researcher', 'auditor'],
        organisationId: orgId,
      });
    expect(created.status).toBe(303);
    keep(session, created);
    // The API's refusals on the field they concern, in plain words (a walk-through found a long
    // name's "displayName must be shorter than …" shown under Roles, 2026-12-06).
    const problem = (html: string, id: string) =>
      new RegExp(`id="${id}-error">\\s*<span class="nhsuk-u-visually-hidden">Error: </span>([^<]*)<`)
        .exec(html)?.[1]
        ?.trim();
    const long = await t.http
      .post('/admin/users/new')
      .set('cookie', session.cookie)
      .type('form')
      .send({
        _csrf: session.csrf,
        email: 'long.name@porto.example',
        displayName: 'x'.repeat(300),
        password: 'a-long-enough-password',
        roles: 'auditor',
      });
    expect(long.status).toBe(400);
    expect(problem(long.text, 'displayName')).toBe('Enter at most 200 characters');
    expect(long.text).not.toContain('displayName must');
    for (const [password, said] of [
      ['password1234', /^Is too easy to guess: it is a common password/],
      ['Weak.Password@porto.example', /^Must not be or contain the email address/],
    ] as const) {
      const weak = await t.http.post('/admin/users/new').set('cookie', session.cookie).type('form').send({
        _csrf: session.csrf,
        email: 'weak.password@porto.example',
        displayName: 'W',
        password,
        roles: 'auditor',
      });
      expect(weak.status).toBe(400);
      expect(problem(weak.text, 'password'), password).toMatch(said);
      expect(problem(weak.text, 'email')).toBeUndefined();
    }
    const noOrg = await t.http.post('/admin/users/new').set('cookie', session.cookie).type('form').send({
      _csrf: session.csrf,
      email: 'no.org@porto.example',
      displayName: 'No Org',
      password: 'a-long-enough-password',
      roles: 'researcher',
    });
    expect(noOrg.status).toBe(400);
    expect(problem(noOrg.text, 'organisationId')).toMatch(/^A researcher must belong to an organisation/);
    const users = await t.http.get('/admin/users').set('cookie', session.cookie).expect(200);
    expect(users.text).toContain('two.roles@porto.example');
    expect(users.text).toContain('Waiting: Auditor');
    const confirm = await t.http
      .get(`/admin/users/${user.id}/access`)
      .set('cookie', session.cookie)
      .expect(409);
    // One's own account: not offered, and its confirmation page says why (a probe: "Disable" was
    // offered, then refused).
    expect(confirm.text).toContain('You cannot disable your own account');
    const own = await t.http.get(`/admin/users/${user.id}`).set('cookie', session.cookie).expect(200);
    expect(own.text).not.toContain(`/admin/users/${user.id}/access`);
    expect(own.text).toContain('This is your own account');
    const otherId = (await t.sql.query(`SELECT id FROM users WHERE email = 'two.roles@porto.example'`))
      .rows[0].id;
    const other = await t.http.get(`/admin/users/${otherId}`).set('cookie', session.cookie).expect(200);
    expect(other.text).toContain(`/admin/users/${otherId}/access`);
    const offer = await t.http
      .get(`/admin/users/${otherId}/access`)
      .set('cookie', session.cookie)
      .expect(200);
    expect(offer.text).toContain('Disable the account');
    const moved = await t.http
      .post('/admin/practices')
      .set('cookie', session.cookie)
      .type('form')
      .send({ _csrf: session.csrf, odsCode: 'C83003', name: 'Porto Surgery', rollout: 'none' });
    expect(moved.status).toBe(303);
    const rollout = await t.http
      .post('/admin/practices/C83003/rollout')
      .set('cookie', session.cookie)
      .type('form')
      .send({ _csrf: session.csrf, rollout: 'pilot' });
    expect(rollout.status).toBe(303);
    const row = await t.sql.query(`SELECT rollout FROM practices WHERE ods_code = 'C83003'`);
    expect(row.rows[0].rollout).toBe('pilot');
    const audit = await t.sql.query(`SELECT action FROM audit_log WHERE actor_id = $1 ORDER BY id`, [
      user.id,
    ]);
    expect(audit.rows.map((r) => r.action)).toEqual(
      expect.arrayContaining(['organisation.create', 'user.create', 'practice.create', 'practice.update']),
    );
  });

  it('admin: the agreements in force, and a revocation that asks first and needs a reason (an outsider found it only in the API)', async () => {
    const { session } = await as(['admin']);
    const bid = await t.factory.bid('active');
    const list = await t.http.get('/admin/agreements').set('cookie', session.cookie).expect(200);
    expect(list.text).toContain(`href="/admin/agreements/${bid.id}/revoke"`);
    const confirm = await t.http
      .get(`/admin/agreements/${bid.id}/revoke`)
      .set('cookie', session.cookie)
      .expect(200);
    expect(/<title>([^<]*)</.exec(confirm.text)?.[1]).toMatch(/^Revoke the agreement for “/);
    // No reason: the error by the field, nothing revoked.
    const noReason = await t.http
      .post(`/admin/agreements/${bid.id}/revoke`)
      .set('cookie', session.cookie)
      .type('form')
      .send({ _csrf: session.csrf, reason: '' });
    expect(noReason.status).toBe(400);
    expect(noReason.text).toMatch(/id="reason-error"[\s\S]*Enter the reason for revoking/);
    expect((await t.sql.query(`SELECT state FROM bids WHERE id = $1`, [bid.id])).rows[0].state).toBe(
      'active',
    );
    // Without the form's token (a forged form on another site): refused, nothing revoked.
    const forged = await t.http
      .post(`/admin/agreements/${bid.id}/revoke`)
      .set('cookie', session.cookie)
      .type('form')
      .send({ reason: 'Forged from elsewhere' });
    expect(forged.status).toBe(403);
    expect((await t.sql.query(`SELECT state FROM bids WHERE id = $1`, [bid.id])).rows[0].state).toBe(
      'active',
    );
    const done = await t.http
      .post(`/admin/agreements/${bid.id}/revoke`)
      .set('cookie', session.cookie)
      .type('form')
      .send({ _csrf: session.csrf, reason: 'The applicant breached the agreement' });
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe('/admin/agreements');
    expect((await t.sql.query(`SELECT state FROM bids WHERE id = $1`, [bid.id])).rows[0].state).toBe(
      'revoked',
    );
    keep(session, done);
    const after = await t.http.get('/admin/agreements').set('cookie', session.cookie).expect(200);
    expect(after.text).toMatch(/Agreement for “[^”]*” revoked/);
    expect(after.text).not.toContain(`/admin/agreements/${bid.id}/revoke`);
    // Its revoke page, kept from before: back to the list, saying why (it went back with no word).
    const stale = await t.http.get(`/admin/agreements/${bid.id}/revoke`).set('cookie', session.cookie);
    expect(stale.status).toBe(303);
    keep(session, stale);
    const told = await t.http.get('/admin/agreements').set('cookie', session.cookie).expect(200);
    expect(told.text).toMatch(/Nothing was revoked[\s\S]*has no agreement to revoke: it is revoked/);
    // An agreement offered and not yet accepted is revoked from the portal too, as the API allows
    // (a review: only those in force were listed).
    const offered = await t.factory.bid('approved');
    const offeredList = await t.http
      .get('/admin/agreements?state=approved')
      .set('cookie', session.cookie)
      .expect(200);
    expect(offeredList.text).toContain(`href="/admin/agreements/${offered.id}/revoke"`);
    expect(offeredList.text).toContain('Agreements offered, not yet accepted');
    const withdrawn = await t.http
      .post(`/admin/agreements/${offered.id}/revoke`)
      .set('cookie', session.cookie)
      .type('form')
      .send({ _csrf: session.csrf, reason: 'The applicant is no longer eligible' });
    expect(withdrawn.status).toBe(303);
    expect((await t.sql.query(`SELECT state FROM bids WHERE id = $1`, [offered.id])).rows[0].state).toBe(
      'revoked',
    );
    keep(session, withdrawn);
    // Not an administrator's: the portal's refusal.
    const other = await as(['researcher']);
    await t.http.get('/admin/agreements').set('cookie', other.session.cookie).expect(403);
  });

  it('admin: the agreements in force a page at a time, past the first 200 (it showed 200 and no more)', async () => {
    const { session } = await as(['admin']);
    const oldest = await t.factory.bid('active');
    // 250 more agreements in force: copies of that bid and its agreement (rows as the workflow left
    // them; taking 250 bids through review over HTTP would take minutes), each newer than the last.
    await t.sql.query(
      `WITH copies AS (
         INSERT INTO bids
         SELECT (jsonb_populate_record(NULL::bids, to_jsonb(b) || jsonb_build_object(
                  'id', gen_random_uuid(), 'title', 'Copy ' || g,
                  'created_at', b.created_at + g * interval '1 second'))).*
           FROM bids b, generate_series(1, 250) g WHERE b.id = $1
         RETURNING id, title)
       INSERT INTO agreements
       SELECT (jsonb_populate_record(NULL::agreements, to_jsonb(a) || jsonb_build_object(
                'id', gen_random_uuid(), 'bid_id', c.id, 'reference', a.reference || '-' || c.title))).*
         FROM agreements a, copies c WHERE a.bid_id = $1`,
      [oldest.id],
    );
    const revokeLinks = (html: string) =>
      html.match(/href="\/admin\/agreements\/[0-9a-f-]{36}\/revoke"/g) ?? [];
    const first = await t.http.get('/admin/agreements').set('cookie', session.cookie).expect(200);
    expect(first.text).toContain('251 agreements in force, page 1 of 6');
    expect(revokeLinks(first.text)).toHaveLength(50);
    expect(first.text).toContain('href="/admin/agreements?page=2"');
    expect(first.text).toContain('Copy 250');
    // The last page holds the oldest agreement, which the 200 never reached.
    const last = await t.http.get('/admin/agreements?page=6').set('cookie', session.cookie).expect(200);
    expect(revokeLinks(last.text)).toHaveLength(1);
    expect(last.text).toContain(`href="/admin/agreements/${oldest.id}/revoke"`);
    expect(last.text).toContain('href="/admin/agreements?page=5"');
    expect(last.text).not.toContain('href="/admin/agreements?page=7"');
    // Past the last page: the last page, saying so; not a page number: the first page, saying so.
    const past = await t.http.get('/admin/agreements?page=40').set('cookie', session.cookie).expect(200);
    expect(past.text).toContain('There is no page 40: this is the last page, 6.');
    expect(past.text).toContain(`href="/admin/agreements/${oldest.id}/revoke"`);
    const junk = await t.http.get('/admin/agreements?page=abc').set('cookie', session.cookie).expect(200);
    expect(junk.text).toContain('is not a page number: this is page 1.');
    expect(junk.text).toContain('page 1 of 6');
    // Every one of them is in force for the API too, a page at a time.
    const api = await t.http.get('/api/bids?state=active&page=2&limit=200').set(admin).expect(200);
    expect(api.body).toMatchObject({ page: 2, limit: 200, total: 251 });
    expect(api.body.items).toHaveLength(51);
  });

  it('auditor: filters (a reversed date range is an error), paging, the CSV export of the filtered entries, and the chain verified', async () => {
    const { session } = await as(['auditor']);
    const page = await t.http.get('/audit-trail').set('cookie', session.cookie).expect(200);
    expect(page.text).toMatch(/\d+ entries/);
    const reversed = await t.http
      .get('/audit-trail?from=2026-12-31&to=2026-01-01')
      .set('cookie', session.cookie);
    expect(reversed.status).toBe(400);
    expect(reversed.text).toContain('href="#to"');
    const impossible = await t.http.get('/audit-trail?from=2026-02-31').set('cookie', session.cookie);
    expect(impossible.status).toBe(400);
    const denied = await t.http.get('/audit-trail?outcome=denied').set('cookie', session.cookie).expect(200);
    expect(denied.text).toContain('portal.csrf_rejected');
    expect(denied.text).not.toMatch(/<td[^>]*data-label="Outcome">success<\/td>/);
    const csv = await t.http
      .get('/audit-trail/export?outcome=denied')
      .set('cookie', session.cookie)
      .expect(200);
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    const lines = csv.text.trim().split('\n');
    expect(lines[0]).toBe(
      'id,at,actor_id,actor_roles,action,outcome,bid_id,subject_type,subject_id,ip,details',
    );
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.slice(1).every((l) => l.includes('"denied"'))).toBe(true);
    const ok = await t.http.get('/audit-trail/verify').set('cookie', session.cookie).expect(200);
    expect(ok.text).toContain('The chain is intact');
    // Break the chain (as the database owner could): the page names the first broken entry.
    const { rows } = await t.sql.query(`SELECT (min(id) + 2)::text AS id FROM audit_log`);
    await t.sql.query(`ALTER TABLE audit_log DISABLE TRIGGER USER`);
    await t.sql.query(`UPDATE audit_log SET details = '{"tampered": true}' WHERE id = $1`, [rows[0].id]);
    await t.sql.query(`ALTER TABLE audit_log ENABLE TRIGGER USER`);
    const broken = await t.http.get('/audit-trail/verify').set('cookie', session.cookie).expect(200);
    expect(broken.text).toContain('The chain is broken');
    expect(broken.text).toContain(`The first broken entry is number ${rows[0].id}`);
    expect(broken.text).toContain('The first broken entry</h2>');
  });

  it('everyone: the home page lists what each of the person’s roles can do', async () => {
    const { session } = await as(['practice', 'auditor'], { practiceOds: 'A81001' });
    const home = await t.http.get('/').set('cookie', session.cookie).expect(200);
    expect(home.text).toContain('For your GP practice');
    expect(home.text).toContain('As an auditor');
    expect(home.text).not.toContain('As an administrator');
    expect(home.text).toContain('href="/audit-trail"');
    expect(home.text).toContain('href="/practice/objections"');
  });

  it('public register: a reversed or impossible date range is an error, not an empty result', async () => {
    const reversed = await t.http.get('/public-register?from=2026-12-31&to=2026-01-01');
    expect(reversed.status).toBe(400);
    expect(reversed.text).toContain('href="#to"');
    const impossible = await t.http.get('/public-register?from=2026-02-31');
    expect(impossible.status).toBe(400);
    expect(impossible.text).toContain('href="#from"');
  });
});
