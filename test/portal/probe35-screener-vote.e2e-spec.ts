import { createTestApp, TestApp } from '@custodian/testing';
import { pageText, postForm, portalSignIn } from '../support/portal-session';

/**
 * probe-35, finding 5: a release officer who is also a panel member and screened a request into the
 * panel's review may not vote on it in that round (the API: 403 SEGREGATION_OF_DUTIES, "You screened
 * this bid into review; another member must vote"). The portal offered them the vote form on
 * `/panel/:id`; sending it ended on the bare "You cannot do this" page, the conditions typed lost.
 */
describe('probe-35: the member who screened a request into review is not offered its vote', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  }, 120_000);
  afterAll(() => t?.close());

  it('the panel page says why instead of the vote, and a vote sent anyway keeps its text', async () => {
    const centre = (await t.factory.organisation({ kind: 'public_body' })).id;
    const both = await t.factory.user({ roles: ['panel_member', 'release_officer'], organisationId: centre });
    const token = await t.login(both.email);
    const officer = {
      user: { id: both.id, organisationId: centre },
      auth: { Authorization: `Bearer ${token}` },
    };
    const bid = await t.factory.bid('in_review', { officer, body: { title: 'Strokes in Halifax' } });
    const me = await portalSignIn(t, both.email, `/panel/${bid.id}`);
    const page = await t.http.get(`/panel/${bid.id}`).set('cookie', me.cookie).expect(200);
    expect(page.text).not.toContain(`action="/panel/${bid.id}/vote"`);
    expect(pageText(page.text)).toContain('You screened this request into the panel’s review');
    const sent = await postForm(t, me, `/panel/${bid.id}/vote`, {
      conflictOfInterest: 'no',
      decision: 'approve',
      tier: 'pseudonymised',
      conditions: 'Publish within a year',
    });
    expect(sent.status).toBe(403);
    expect(pageText(sent.text)).toContain('You screened this request into the panel’s review');
    expect(pageText(sent.text)).toContain('Publish within a year');
  });
});
