import { createTestApp, TestApp } from '@custodian/testing';
import { pageText, postForm, portalSignIn, signInAs } from '../support/portal-session';

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

  it('the same for an amendment the member screened into review', async () => {
    const centre = (await t.factory.organisation({ kind: 'public_body' })).id;
    const both = await t.factory.user({ roles: ['panel_member', 'release_officer'], organisationId: centre });
    const auth = { Authorization: `Bearer ${await t.login(both.email)}` };
    const bid = await t.factory.bid('active', { body: { title: 'Falls in Halifax' } });
    const researcher = await signInAs(t, bid.researcher, `/requests/${bid.id}/amend`);
    await postForm(t, researcher, `/requests/${bid.id}/amend`, {
      fields_gp: ['nhs_number', 'date_of_birth', 'sex', 'code', 'event_date'],
      durationMonths: '12',
      reason: 'We also need the sex of each patient.',
    }).expect(303);
    await t.http
      .post(`/api/bids/${bid.id}/amendments/2/screen`)
      .set(auth)
      .send({ outcome: 'accept' })
      .expect(200);
    const me = await portalSignIn(t, both.email, '/panel');
    const page = await t.http.get(`/panel/${bid.id}/amendments/2`).set('cookie', me.cookie).expect(200);
    expect(page.text).not.toContain(`action="/panel/${bid.id}/amendments/2"`);
    expect(pageText(page.text)).toContain('You screened this amendment into the panel’s review');
  });
});
