import { createTestApp, TestApp } from '@custodian/testing';
import { pageText, portalSignIn } from '../support/portal-session';

/**
 * probe-35, finding 2: a researcher who also holds a reviewing role (SPEC §1: a user may hold several
 * roles) read another organisation's requests on "Your organisation’s requests": the API's
 * `GET /api/bids` gives a reviewer every submitted bid, and the researcher's pages took all of them.
 * Each opened at `/requests/:id` as the person's own — "Resubmit request", "Change the request",
 * "Withdraw this request" offered (the API then answers 404), the timeline's "Your organisation",
 * the edit and amend forms of another organisation's study. SPEC §1: researchers act on bids of
 * their own organisation; another organisation's is the unknown id's 404 (STYLE habit 3).
 */
describe('probe-35: the researcher’s pages hold only their own organisation’s requests', () => {
  let t: TestApp;
  let returned = '';
  let active = '';
  let ownTitle = '';
  let me: Awaited<ReturnType<typeof portalSignIn>>;

  beforeAll(async () => {
    t = await createTestApp();
    const other = await t.factory.bid('submitted', { body: { title: 'Hip fractures in Bradford' } });
    const officer = await t.as('release_officer', {
      organisationId: (await t.factory.organisation({ kind: 'public_body' })).id,
    });
    await t.http
      .post(`/api/bids/${other.id}/screen`)
      .set(officer.auth)
      .send({ outcome: 'return', remarks: 'Say which areas the study covers.' })
      .expect(200);
    returned = other.id;
    active = (await t.factory.bid('active', { body: { title: 'Falls in Wakefield care homes' } })).id;
    const mine = (await t.factory.organisation({ name: 'University of York' })).id;
    const own = await t.as('researcher', { organisationId: mine });
    ownTitle = 'Asthma in York schools';
    await t.http
      .post('/api/bids')
      .set(own.auth)
      .send({
        title: ownTitle,
        purpose: 'Study asthma',
        publicBenefit: 'Fewer attacks',
        legalBasis: 'none',
        requestedTier: 'aggregate',
        datasets: [{ dataset: 'gp', fields: ['sex', 'code'] }],
        aggregation: { dimensions: ['sex'] },
        durationMonths: 12,
      })
      .expect(201);
    const u = await t.factory.user({
      roles: ['researcher', 'panel_member', 'release_officer'],
      organisationId: mine,
    });
    me = await portalSignIn(t, u.email, '/requests');
  }, 180_000);
  afterAll(() => t?.close());

  it('"Your organisation’s requests" lists the own organisation’s and no other', async () => {
    const list = pageText((await t.http.get('/requests').set('cookie', me.cookie).expect(200)).text);
    expect(list).toContain(ownTitle);
    expect(list).not.toContain('Hip fractures in Bradford');
    expect(list).not.toContain('Falls in Wakefield care homes');
  });

  it('another organisation’s request is not opened as the person’s own', async () => {
    for (const path of [
      `/requests/${returned}`,
      `/requests/${returned}/edit`,
      `/requests/${returned}/withdraw`,
      `/requests/${active}`,
      `/requests/${active}/amend`,
    ]) {
      const res = await t.http.get(path).set('cookie', me.cookie);
      expect(res.status, path).toBe(404);
      expect(pageText(res.text), path).not.toMatch(/Hip fractures in Bradford|Falls in Wakefield care homes/);
    }
  });

  it('(control) as a reviewer they still read it where reviewers do', async () => {
    await t.http.get(`/screening/${returned}`).set('cookie', me.cookie).expect(200);
  });
});
