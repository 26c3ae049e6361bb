import { createTestApp, TestApp } from '@custodian/testing';
import { pageText, postForm, portalSignIn, signInAs } from '../support/portal-session';

/**
 * probe-35, finding 3: SPEC §1 — nobody acts as release officer on a bid of their own organisation.
 * The API refuses an officer of the applicant organisation the screening of an amendment
 * (`assertNotApplicant`, 403), but the portal listed the amendment in that officer's queue
 * ("Amendments waiting") and offered the screening form; sending it ended on the bare "You cannot
 * do this" page, the remarks typed lost. Probe 21 fixed this for the request's own screening, not
 * for its amendments.
 */
describe('probe-35: an amendment of the officer’s own organisation is not offered to screen', () => {
  let t: TestApp;
  let bidId = '';
  let officer: Awaited<ReturnType<typeof portalSignIn>>;

  beforeAll(async () => {
    t = await createTestApp();
    const bid = await t.factory.bid('active', { body: { title: 'Strokes in Wakefield' } });
    bidId = bid.id;
    const researcher = await signInAs(t, bid.researcher, `/requests/${bid.id}/amend`);
    await postForm(t, researcher, `/requests/${bid.id}/amend`, {
      fields_gp: ['nhs_number', 'date_of_birth', 'sex', 'code', 'event_date'],
      durationMonths: '12',
      reason: 'We also need the sex of each patient.',
    }).expect(303);
    const u = await t.factory.user({
      roles: ['release_officer'],
      organisationId: bid.researcher.user.organisationId!,
    });
    officer = await portalSignIn(t, u.email, '/screening');
  }, 180_000);
  afterAll(() => t?.close());

  it('the officer’s queue does not offer it', async () => {
    const queue = await t.http.get('/screening').set('cookie', officer.cookie).expect(200);
    expect(queue.text).not.toContain(`/screening/${bidId}/amendments/2`);
  });

  it('its page says why instead of the form, and a form sent anyway keeps the remarks', async () => {
    const page = await t.http
      .get(`/screening/${bidId}/amendments/2`)
      .set('cookie', officer.cookie)
      .expect(200);
    expect(page.text).not.toContain(`action="/screening/${bidId}/amendments/2"`);
    expect(pageText(page.text)).toContain('from your own organisation, so you cannot screen it');
    const sent = await postForm(t, officer, `/screening/${bidId}/amendments/2`, {
      outcome: 'return',
      remarks: 'Please explain why sex is needed.',
    });
    expect(sent.status).toBe(403);
    expect(pageText(sent.text)).toContain('from your own organisation, so you cannot screen it');
    expect(pageText(sent.text)).toContain('Please explain why sex is needed.');
    const amendment = await t.sql.query(`SELECT state FROM bid_versions WHERE bid_id = $1 AND version = 2`, [
      bidId,
    ]);
    expect(amendment.rows[0].state).toBe('submitted');
  });
});
