import { createTestApp, TestApp } from '@custodian/testing';
import { PortalSession, portalSignIn } from '../support/portal-session';
import { addEvent, addPatient, seedPractice } from '../release-helpers';
import { nhsNumber } from '../support/fhir';

/**
 * What an outsider's probe of the portal found (in-process, supertest, real PostgreSQL, the real
 * release engine): a consent draft offered "Submit" without its cohort; a revoked agreement's
 * releases still listed as downloadable; the panel's pages open on requests never in review; 409
 * pages in the API's internal words with no way back; a release served under another request's
 * address; raw JSON for a portal address.
 */
const text = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;|\s+/g, ' ')
    .replace(/&#39;|&rsquo;/g, '’');
/** Internal words a person should never read: state names as the API spells them, API paths. */
const INTERNAL = /A bid in state|in_review|\(this one is|\/api\/|PUT |agreement accepted\)/g;
/** The internal words in a page's text, each with a little of what surrounds it. */
const internalWords = (html: string) =>
  [...text(html).matchAll(INTERNAL)].map((m) => text(html).slice(Math.max(0, m.index - 60), m.index + 40));

describe('portal: an outsider’s probe, findings 1, 2, 6, 7 and 8', () => {
  let t: TestApp;
  let researcher: { user: { id: string; organisationId: string | null }; auth: { Authorization: string } };
  let me: PortalSession;
  let member: PortalSession;
  let officer: PortalSession;
  let admin: { Authorization: string };
  let centre: string;

  const signIn = (email: string, home: string) => portalSignIn(t, email, home);
  const get = (b: PortalSession, path: string) => t.http.get(path).set('cookie', b.cookie);
  const post = (b: PortalSession, path: string, form: Record<string, unknown> = {}) =>
    t.http
      .post(path)
      .set('cookie', b.cookie)
      .type('form')
      .send({ _csrf: b.csrf, ...form });
  const panel = async () =>
    Promise.all([1, 2, 3].map(() => t.as('panel_member', { organisationId: centre })));

  /** An active request of the researcher's organisation with one completed release. */
  async function activeWithRelease(title: string) {
    const bid = await t.factory.bid('active', { researcher, body: { title }, panel: await panel() });
    const r = await t.http
      .post(`/api/bids/${bid.id}/releases`)
      .set(bid.officer!.auth)
      .send({})
      .expect((x) => expect([201, 202]).toContain(x.status));
    const releaseId = r.body.id as string;
    let state = '';
    let files: { name: string }[] = [];
    for (let i = 0; i < 300 && !['completed', 'failed'].includes(state); i++) {
      const got = await t.http.get(`/api/releases/${releaseId}`).set(researcher.auth).expect(200);
      ({ state, files } = got.body);
      if (state !== 'completed') await new Promise((res) => setTimeout(res, 100));
    }
    expect(state).toBe('completed');
    return { bidId: bid.id, releaseId, file: files[0]!.name };
  }

  beforeAll(async () => {
    t = await createTestApp({ PANEL_QUORUM: '3' });
    centre = (await t.factory.organisation({ name: 'Centre', kind: 'public_body' })).id;
    const leeds = (await t.factory.organisation({ name: 'University of Leeds', kind: 'academic' })).id;
    researcher = await t.as('researcher', { organisationId: leeds });
    me = await signIn((researcher.user as unknown as { email: string }).email, '/requests');
    const m = await t.factory.user({ roles: ['panel_member'], organisationId: centre });
    member = await signIn(m.email, '/panel');
    const o = await t.factory.user({ roles: ['release_officer'], organisationId: centre });
    officer = await signIn(o.email, '/screening');
    admin = (await t.as('admin')).auth;
    await seedPractice(t.sql);
    for (let i = 0; i < 6; i++) {
      const id = await addPatient(t.sql, { nhs: String(9_200_000_000 + i) });
      await addEvent(t.sql, id);
    }
  }, 180_000);
  afterAll(() => t?.close());

  it('1: a consent draft without its cohort offers no Submit; a stale Submit comes back to the request with an error summary linking to the cohort link', async () => {
    const created = await t.http
      .post('/api/bids')
      .set(researcher.auth)
      .send({
        title: 'Follow-up of the heart study volunteers',
        purpose: 'Follow up, with their consent, the volunteers of a heart study through their GP records.',
        publicBenefit: 'Long-term outcomes of a heart study, without asking volunteers to fill in forms.',
        legalBasis: 'consent',
        requestedTier: 'identifiable',
        datasets: [{ dataset: 'gp', fields: ['nhs_number', 'code', 'event_date'] }],
        durationMonths: 24,
      })
      .expect(201);
    const id = created.body.id as string;
    const page = (await get(me, `/requests/${id}`).expect(200)).text;
    expect(page).not.toContain(`action="/requests/${id}/submit"`);
    expect(text(page)).toMatch(/You can submit the request once the cohort is attached/);
    expect(page).toMatch(
      new RegExp(
        `id="attach-cohort"[^>]*href="/requests/${id}/cohort"|href="/requests/${id}/cohort"[^>]*id="attach-cohort"`,
      ),
    );
    // A Submit from a page loaded before (or a second tab): back on the request page, in plain words.
    const refused = await post(me, `/requests/${id}/submit`);
    expect(refused.status).toBe(409);
    expect(refused.text).toMatch(/<title>Error: /);
    expect(refused.text).toContain('nhsuk-error-summary');
    expect(refused.text).toContain('href="#attach-cohort"');
    expect(text(refused.text)).toMatch(
      /Attach the NHS numbers of the people who consented before you submit/,
    );
    expect(internalWords(refused.text)).toEqual([]);
    expect(text(refused.text)).toMatch(/Follow-up of the heart study volunteers/);
    // A pasted list with a bad line: worded for pasting, not for a file.
    const bad = await post(me, `/requests/${id}/cohort`, { nhsNumbers: `${nhsNumber(1)}\n123\n` });
    expect(bad.status).toBe(400);
    expect(text(bad.text)).toMatch(/line 2/);
    expect(text(bad.text)).not.toMatch(/correct the file and upload it again/);
    expect(text(bad.text)).toMatch(/correct the list and paste it again/);
    // One NHS number attached: singular, and Submit is offered.
    await post(me, `/requests/${id}/cohort`, { nhsNumbers: `${nhsNumber(1)}\n` }).expect(303);
    const ready = (await get(me, `/requests/${id}`).expect(200)).text;
    expect(text(ready)).toMatch(/1 NHS number of a consenting person is attached/);
    expect(ready).toContain(`action="/requests/${id}/submit"`);
  });

  it('8: a release is served only under its own request’s address; an odd file name is the HTML "Page not found"', async () => {
    const a = await activeWithRelease('First active request');
    const b = await activeWithRelease('Second active request');
    const own = await get(
      me,
      `/requests/${a.bidId}/releases/${a.releaseId}/files/${encodeURIComponent(a.file)}`,
    );
    expect(own.status).toBe(200);
    // B's release under A's address: not found (it belongs to B).
    const crossed = await get(
      me,
      `/requests/${a.bidId}/releases/${b.releaseId}/files/${encodeURIComponent(b.file)}`,
    );
    expect(crossed.status).toBe(404);
    expect(crossed.headers['content-type']).toMatch(/text\/html/);
    expect(text(crossed.text)).toMatch(/Page not found/);
    const dots = await get(me, `/requests/${a.bidId}/releases/${a.releaseId}/files/%2e%2e`);
    expect(dots.status).toBe(404);
    expect(dots.headers['content-type']).toMatch(/text\/html/);
    expect(text(dots.text)).toMatch(/Page not found/);
    expect(dots.text).not.toMatch(/statusCode/);
    for (const odd of ['%2e', '..%2f..%2fetc', '%00'])
      expect(
        (await get(me, `/requests/${a.bidId}/releases/${a.releaseId}/files/${odd}`)).headers['content-type'],
      ).toMatch(/text\/html/);

    // 2: links without the `download` attribute, so a refusal is a page the browser shows.
    const before = (await get(me, `/requests/${a.bidId}`).expect(200)).text;
    expect(before).toContain(`/requests/${a.bidId}/releases/${a.releaseId}/files/`);
    expect(before).not.toMatch(/\/files\/[^"]*"[^>]*\bdownload\b/);
    await t.http
      .post(`/api/bids/${a.bidId}/revoke`)
      .set(admin)
      .send({ reason: 'Breach of the agreement’s conditions' })
      .expect((x) => expect([200, 201]).toContain(x.status));
    let after = '';
    for (let i = 0; i < 100; i++) {
      after = (await get(me, `/requests/${a.bidId}`).expect(200)).text;
      if (/Files deleted \d/.test(text(after))) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    expect(after).not.toContain('/files/');
    expect(after).not.toMatch(/nhsuk-tag[^"]*">\s*Completed/);
    expect(text(after).match(/Releases.{0,400}/)?.[0]).toMatch(/Files deleted \d{1,2} \w+ \d{4}/);
    expect(text(after)).toMatch(/the agreement was revoked/);
    // A link kept from before: the portal's refusal page, with the way back to the request.
    const stale = await get(
      me,
      `/requests/${a.bidId}/releases/${a.releaseId}/files/${encodeURIComponent(a.file)}`,
    );
    expect([404, 409, 410]).toContain(stale.status);
    expect(stale.headers['content-type']).toMatch(/text\/html/);
    expect(stale.text).toContain(`href="/requests/${a.bidId}"`);
    expect(internalWords(stale.text)).toEqual([]);
  });

  it('6: the panel’s pages and list hold only requests that are or were in review; others are "Page not found"', async () => {
    const submitted = await t.factory.bid('submitted', {
      researcher,
      body: { title: 'Still waiting for screening' },
    });
    const returned = await t.factory.bid('submitted', {
      researcher,
      body: { title: 'Returned at screening' },
    });
    await t.http
      .post(`/api/bids/${returned.id}/screen`)
      .set(returned.officer?.auth ?? (await t.as('release_officer', { organisationId: centre })).auth)
      .send({ outcome: 'return', remarks: 'Say which areas' })
      .expect(200);
    const inReview = await t.factory.bid('in_review', {
      researcher,
      body: { title: 'In the panel’s review' },
    });
    await get(member, `/panel/${inReview.id}`).expect(200);
    for (const id of [submitted.id, returned.id]) {
      const res = await get(member, `/panel/${id}`);
      expect(res.status, id).toBe(404);
      expect(text(res.text)).toMatch(/Page not found/);
      expect(res.text).not.toMatch(/Still waiting for screening|Returned at screening/);
      const vote = await post(member, `/panel/${id}/vote`, { decision: 'approve', conflictOfInterest: 'no' });
      expect(vote.status, id).toBe(404);
    }
    const list = (await get(member, '/panel').expect(200)).text;
    expect(list).not.toMatch(/value="(submitted|draft)"/);
    expect(list).toMatch(/value="in_review"/);
    const every = text((await get(member, '/panel?state=all').expect(200)).text);
    expect(every).not.toMatch(/Still waiting for screening|Returned at screening/);
    expect(every).toMatch(/In the panel’s review/);
    for (const state of ['submitted', 'returned']) {
      const res = await get(member, `/panel?state=${state}`).expect(200);
      expect(text(res.text)).not.toMatch(/Still waiting for screening|Returned at screening/);
    }
    // Returned by the panel, resubmitted, then returned at screening: its history has a review, but
    // it is the release officer's (the API's rule, one for both: a review found the portal and the
    // API apart). A release officer who sits on the panel reads every bid through the API, so the
    // panel's page decides by itself here.
    const again = await t.factory.bid('in_review', { researcher, body: { title: 'Reviewed, resubmitted' } });
    for (const p of await panel())
      await t.http
        .post(`/api/bids/${again.id}/votes`)
        .set(p.auth)
        .send({ decision: 'return', conditions: ['Say more'], conflictOfInterest: false })
        .expect(201);
    await get(member, `/panel/${again.id}`).expect(200);
    await t.http.post(`/api/bids/${again.id}/submit`).set(researcher.auth).send().expect(200);
    const dualUser = await t.factory.user({
      roles: ['release_officer', 'panel_member'],
      organisationId: centre,
    });
    const dual = await signIn(dualUser.email, '/screening');
    await get(officer, `/screening/${again.id}`).expect(200);
    for (const who of [member, dual]) await get(who, `/panel/${again.id}`).expect(404);
    await post(officer, `/screening/${again.id}`, { outcome: 'return', remarks: 'Say which areas' });
    for (const who of [member, dual]) await get(who, `/panel/${again.id}`).expect(404);
    expect(text((await get(dual, '/panel?state=returned').expect(200)).text)).not.toMatch(
      /Reviewed, resubmitted/,
    );
  });

  it('7: a refused change (409) is in plain words, with a link back to the request acted on', async () => {
    const withdrawn = await t.factory.bid('draft', { researcher, body: { title: 'Withdrawn early' } });
    await t.http.post(`/api/bids/${withdrawn.id}/withdraw`).set(researcher.auth).send({}).expect(200);
    const submit = await post(me, `/requests/${withdrawn.id}/submit`);
    expect(submit.status).toBe(409);
    expect(internalWords(submit.text)).toEqual([]);
    expect(text(submit.text)).toMatch(/withdrawn/);
    expect(submit.text).toContain(`href="/requests/${withdrawn.id}"`);

    const inReview = await t.factory.bid('in_review', { researcher, body: { title: 'Screened already' } });
    const screen = await post(officer, `/screening/${inReview.id}`, { outcome: 'accept' });
    expect(screen.status).toBe(409);
    expect(internalWords(screen.text)).toEqual([]);
    expect(text(screen.text)).toMatch(/in review by the panel/);

    const active = await t.factory.bid('active', {
      researcher,
      body: { title: 'Active already' },
      panel: await panel(),
    });
    const accept = await post(me, `/requests/${active.id}/accept`);
    expect(accept.status).toBe(409);
    expect(internalWords(accept.text)).toEqual([]);
    expect(text(accept.text)).toMatch(/active/);
    expect(accept.text).toContain(`href="/requests/${active.id}"`);

    const vote = await post(member, `/panel/${active.id}/vote`, {
      decision: 'approve',
      conflictOfInterest: 'no',
    });
    expect(vote.status).toBe(409);
    expect(internalWords(vote.text)).toEqual([]);
    expect(text(vote.text)).toMatch(/no longer in review/);
  });
});
