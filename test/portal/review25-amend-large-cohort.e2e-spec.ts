import { createTestApp, TestApp } from '@custodian/testing';
import { postForm, signInAs } from '../support/portal-session';

/**
 * review-25: the amendment form now pre-fills the cohort in force (37cdecc, `cohortValues`) and
 * sends it back. The API takes a cohort of up to 10,000 practices (CohortDto), but every portal
 * form field is at most MAX_FORM_FIELD (20,000) characters (portal-auth.guard.ts refuses a
 * larger form with 413). For a request restricted to some 3,000 practices (a regional study), the
 * pre-filled practices box is ~24,000 characters: the researcher who changes only the term gets
 * "Your form is too large" and can no longer amend the request in the portal at all (before
 * 37cdecc the form had no cohort and such an amendment went through). The only way through is to
 * empty the box — which the form says means "no restriction": a widening of the cohort.
 */
describe('review-25: amending a request whose cohort lists many practices', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  }, 120_000);
  afterAll(() => t?.close());

  it('an amendment that changes only the term goes through with the cohort as pre-filled', async () => {
    const practices = Array.from({ length: 3000 }, (_, i) => `A${String(10000 + i)}`);
    const bid = await t.factory.bid('active', {
      body: { title: 'Regional cohort', cohort: { practices } },
    });
    const me = await signInAs(t, bid.researcher, `/requests/${bid.id}/amend`);
    const form = await t.http.get(`/requests/${bid.id}/amend`).set('cookie', me.cookie).expect(200);
    // Too long for the form's boxes: shown as staying, not offered as a box (the fix chosen; a box
    // pre-filled with it was refused as too large when sent back).
    expect(form.text).not.toMatch(/name="practices"/);
    expect(form.text).toMatch(/too long to change in this form/);

    // The browser sends the form as shown, the term changed from 12 to 18 months.
    const sent = await postForm(t, me, `/requests/${bid.id}/amend`, {
      fields_gp: ['nhs_number', 'date_of_birth', 'code', 'event_date'],
      durationMonths: '18',
      reason: 'The study needs six more months.',
    });
    expect(sent.status).toBe(303);
    const amendment = await t.http
      .get(`/api/bids/${bid.id}/amendments/2`)
      .set(bid.researcher.auth)
      .expect(200);
    expect(amendment.body.diff.map((d: { field: string }) => d.field)).toEqual(['durationMonths']);
  });
});
