import { createTestApp, TestApp } from '@custodian/testing';
import { pageText, postForm, portalSignIn } from '../support/portal-session';

/**
 * probe-35, finding 4: SPEC §1 — "the release officer who generates a release did not vote on that
 * bid". A panel member who is also a release officer (a user may hold several roles) and voted on a
 * request was offered "Generate a release" of it on `/data-releases`; the API refuses it (403
 * SEGREGATION_OF_DUTIES, "A panel member who voted on this bid cannot release it") and the portal
 * answered with the bare "You cannot do this" page.
 */
describe('probe-35: a release officer who voted on the request is not offered its release', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ PANEL_QUORUM: '1' });
  }, 120_000);
  afterAll(() => t?.close());

  it('the releases page says why instead of "Generate a release", and one sent anyway says why too', async () => {
    const centre = (await t.factory.organisation({ kind: 'public_body' })).id;
    const both = await t.factory.user({ roles: ['panel_member', 'release_officer'], organisationId: centre });
    const token = await t.login(both.email);
    const voter = {
      user: { id: both.id, organisationId: centre },
      auth: { Authorization: `Bearer ${token}` },
    };
    const bid = await t.factory.bid('active', { panel: [voter], body: { title: 'Strokes in Halifax' } });
    const other = await t.factory.bid('active', { body: { title: 'Falls in Leeds' } });
    const me = await portalSignIn(t, both.email, '/data-releases');
    const page = await t.http.get('/data-releases').set('cookie', me.cookie).expect(200);
    expect(page.text).toContain('Generate a release of Falls in Leeds');
    expect(page.text).not.toContain('Generate a release of Strokes in Halifax');
    expect(pageText(page.text)).toContain('You voted on this request as a panel member');
    const sent = await postForm(t, me, '/data-releases', { bidId: bid.id });
    expect(sent.status).toBe(403);
    expect(pageText(sent.text)).toContain('You voted on this request as a panel member');
    expect(other.id).not.toBe(bid.id);
  });
});
