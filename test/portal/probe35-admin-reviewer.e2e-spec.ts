import { createTestApp, TestApp } from '@custodian/testing';
import { pageText, postForm, portalSignIn, signInAs } from '../support/portal-session';

/**
 * probe-35, finding 1: SPEC §1 — the administrator "never votes on or releases a bid", and a user may
 * hold several roles. The API refuses an administrator's vote ("Only panel members who are not
 * administrators vote") and release ("Administrators never generate releases") whatever else they
 * hold; the portal still offered an administrator who is also a panel member the vote form, and one
 * who is also a release officer "Generate a release". Sending either ended on the bare "You cannot do
 * this" page, the vote's typed interests and conditions lost.
 */
describe('probe-35: an administrator who also holds a reviewing role is not offered what the API refuses', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  }, 120_000);
  afterAll(() => t?.close());

  const centre = async () => (await t.factory.organisation({ kind: 'public_body' })).id;

  it('the panel page says why instead of offering the vote, and a vote sent anyway keeps its text', async () => {
    const bid = await t.factory.bid('in_review', { body: { title: 'Asthma and air quality' } });
    const u = await t.factory.user({ roles: ['admin', 'panel_member'], organisationId: await centre() });
    const me = await portalSignIn(t, u.email, `/panel/${bid.id}`);
    const page = await t.http.get(`/panel/${bid.id}`).set('cookie', me.cookie).expect(200);
    expect(page.text).not.toContain(`action="/panel/${bid.id}/vote"`);
    expect(pageText(page.text)).toContain('you are an administrator, so you cannot vote');
    const sent = await postForm(t, me, `/panel/${bid.id}/vote`, {
      conflictOfInterest: 'no',
      decision: 'approve',
      tier: 'pseudonymised',
      conditions: 'Publish within a year',
    });
    expect(sent.status).toBe(403);
    expect(pageText(sent.text)).toContain('you are an administrator, so you cannot vote');
    expect(pageText(sent.text)).toContain('Publish within a year');
    // Nothing was counted.
    const votes = await t.sql.query(`SELECT count(*)::int AS n FROM bid_votes WHERE bid_id = $1`, [bid.id]);
    expect(votes.rows[0].n).toBe(0);
  });

  it('the releases page offers no "Generate a release", and one sent anyway says why', async () => {
    const bid = await t.factory.bid('active', { body: { title: 'Statins in Bradford' } });
    const u = await t.factory.user({ roles: ['admin', 'release_officer'], organisationId: await centre() });
    const me = await portalSignIn(t, u.email, '/data-releases');
    const page = await t.http.get('/data-releases').set('cookie', me.cookie).expect(200);
    expect(pageText(page.text)).toContain('Statins in Bradford');
    expect(page.text).not.toContain('Generate a release of Statins in Bradford');
    expect(pageText(page.text)).toContain('you are an administrator, so another release officer releases');
    const sent = await postForm(t, me, '/data-releases', { bidId: bid.id });
    expect(sent.status).toBe(403);
    expect(pageText(sent.text)).toContain('you are an administrator, so another release officer releases');
  });

  it('the amendment page offers no vote either', async () => {
    const bid = await t.factory.bid('active', { body: { title: 'Strokes in Wakefield' } });
    const researcher = await signInAs(t, bid.researcher, `/requests/${bid.id}/amend`);
    await postForm(t, researcher, `/requests/${bid.id}/amend`, {
      fields_gp: ['nhs_number', 'date_of_birth', 'sex', 'code', 'event_date'],
      durationMonths: '12',
      reason: 'We also need the sex of each patient.',
    }).expect(303);
    await t.http
      .post(`/api/bids/${bid.id}/amendments/2/screen`)
      .set(bid.officer!.auth)
      .send({ outcome: 'accept' })
      .expect(200);
    const u = await t.factory.user({ roles: ['admin', 'panel_member'], organisationId: await centre() });
    const me = await portalSignIn(t, u.email, '/panel');
    const page = await t.http.get(`/panel/${bid.id}/amendments/2`).set('cookie', me.cookie).expect(200);
    expect(pageText(page.text)).toContain('In review');
    expect(page.text).not.toContain(`action="/panel/${bid.id}/amendments/2"`);
    expect(pageText(page.text)).toContain('you are an administrator, so you cannot vote');
  });
});
