import { createTestApp, TestApp } from '@custodian/testing';
import { PortalSession, portalSignIn } from '../support/portal-session';

/**
 * probe-21, finding 5: a panel member or release officer of the applicant organisation is offered the
 * vote and the screening form on that organisation's request (and the officer finds it in "Requests to
 * screen"), although SPEC §1 says nobody acts as panel member or release officer on a bid of their own
 * organisation, and the API refuses it (403). Sending the form ends on the bare "You cannot do this /
 * Your account is not allowed to do this" page: what they typed (conditions, interests, remarks) is
 * gone, and nothing says why. The panel's amendment vote already keeps such a refusal on its form.
 */
const text = (html: string) =>
  html
    .replace(/<script[\s\S]*?<\/script>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;|\s+/g, ' ');

describe('probe-21: reviewers of the applicant organisation are offered forms they may not use', () => {
  let t: TestApp;
  let researcher: Awaited<ReturnType<TestApp['as']>>;
  let centreOfficer: Awaited<ReturnType<TestApp['as']>>;
  let member: PortalSession;
  let officer: PortalSession;
  const post = (s: PortalSession, path: string, form: Record<string, unknown>) =>
    t.http
      .post(path)
      .set('cookie', s.cookie)
      .type('form')
      .send({ _csrf: s.csrf, ...form });

  beforeAll(async () => {
    t = await createTestApp({ PANEL_QUORUM: '2' });
    const centre = (await t.factory.organisation({ name: 'Centre', kind: 'public_body' })).id;
    // The applicant: an NHS trust that also has staff on the panel and among the release officers.
    const trust = (await t.factory.organisation({ name: 'Leeds Teaching Hospitals', kind: 'nhs' })).id;
    researcher = await t.as('researcher', { organisationId: trust });
    centreOfficer = await t.as('release_officer', { organisationId: centre });
    const m = await t.factory.user({ roles: ['panel_member'], organisationId: trust });
    member = await portalSignIn(t, m.email, '/panel');
    const o = await t.factory.user({ roles: ['release_officer'], organisationId: trust });
    officer = await portalSignIn(t, o.email, '/screening');
  }, 120_000);
  afterAll(() => t?.close());

  it('panel: no vote form on the own organisation’s request; a vote sent anyway keeps its text and says why', async () => {
    const bid = await t.factory.bid('in_review', {
      researcher,
      officer: centreOfficer,
      body: { title: 'Sepsis in our own wards' },
    });
    const page = await t.http.get(`/panel/${bid.id}`).set('cookie', member.cookie).expect(200);
    expect(page.text).not.toContain(`action="/panel/${bid.id}/vote"`);
    const conditions = 'Publish the code\nNo linkage with other extracts';
    const res = await post(member, `/panel/${bid.id}/vote`, {
      conflictOfInterest: 'no',
      decision: 'approve',
      conditions,
    });
    expect(text(res.text)).not.toMatch(/Your account is not allowed to do this/);
    expect(text(res.text)).toMatch(/your organisation|your own organisation|recused/i);
  });

  it('screening: the own organisation’s request is not offered to screen', async () => {
    const bid = await t.factory.bid('submitted', {
      researcher,
      body: { title: 'Our own request to screen' },
    });
    const queue = text((await t.http.get('/screening').set('cookie', officer.cookie).expect(200)).text);
    const page = await t.http.get(`/screening/${bid.id}`).set('cookie', officer.cookie).expect(200);
    expect(page.text).not.toContain(`action="/screening/${bid.id}"`);
    const remarks = 'Please say which wards and which years you need.';
    const res = await post(officer, `/screening/${bid.id}`, { outcome: 'return', remarks });
    expect(text(res.text)).not.toMatch(/Your account is not allowed to do this/);
    expect(res.text).toContain(remarks);
    // In "Requests to screen" it is either absent or marked as not theirs.
    if (queue.includes('Our own request to screen'))
      expect(queue).toMatch(/Our own request to screen.{0,300}(your organisation|another release officer)/i);
  });

  it('releases: no "Generate a release" for the own organisation’s active request (the API refuses it)', async () => {
    const member = await t.as('panel_member', { organisationId: centreOfficer.user.organisationId! });
    const bid = await t.factory.bid('active', {
      researcher,
      officer: centreOfficer,
      panel: [member, await t.as('panel_member', { organisationId: centreOfficer.user.organisationId! })],
      body: { title: 'Our own active request' },
    });
    const asked = await t.http
      .post(`/api/bids/${bid.id}/releases`)
      .set({
        Authorization: `Bearer ${await t.login((await t.factory.user({ roles: ['release_officer'], organisationId: researcher.user.organisationId! })).email)}`,
      })
      .send({});
    expect(asked.status).toBe(403);
    const page = (await t.http.get('/data-releases').set('cookie', officer.cookie).expect(200)).text;
    expect(page).not.toContain(`name="bidId" value="${bid.id}"`);
  });
});
