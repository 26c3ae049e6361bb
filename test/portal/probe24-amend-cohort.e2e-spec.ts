import { createTestApp, TestApp } from '@custodian/testing';
import { postForm, signInAs } from '../support/portal-session';

/**
 * probe-24, finding 3: an approved or active request's page links "Amend this request (new fields,
 * another cohort, a longer term)", and an amendment may change the cohort (docs/governance.md,
 * "Amendments": "new fields, another cohort, another term, other recipients"; `POST
 * /api/bids/:id/amendments` takes `cohort`). The amendment form has fields, duration and reason
 * only: no practices, postcode areas, condition codes, event dates or ages. A researcher cannot
 * ask for another cohort in the portal, and what they type in such a box is dropped.
 */
describe('probe-24: amending the cohort in the portal', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  }, 120_000);
  afterAll(() => t?.close());

  it('the request page promises another cohort; the amendment form offers the cohort', async () => {
    const bid = await t.factory.bid('active', {
      body: { title: 'Cohort to widen', cohort: { practices: ['A81001'], eventsFrom: '2018-01-01' } },
    });
    const me = await signInAs(t, bid.researcher, `/requests/${bid.id}`);
    const request = await t.http.get(`/requests/${bid.id}`).set('cookie', me.cookie).expect(200);
    expect(request.text).toContain('another cohort');
    const form = await t.http.get(`/requests/${bid.id}/amend`).set('cookie', me.cookie).expect(200);
    expect(form.text).toMatch(/name="practices"/);
    expect(form.text).toMatch(/name="eventsFrom"/);
  });

  it('an amendment sent from the portal with another practice changes the cohort', async () => {
    const bid = await t.factory.bid('active', {
      body: { title: 'Cohort to widen, sent', cohort: { practices: ['A81001'] } },
    });
    const me = await signInAs(t, bid.researcher, `/requests/${bid.id}/amend`);
    const sent = await postForm(t, me, `/requests/${bid.id}/amend`, {
      fields_gp: ['nhs_number', 'date_of_birth', 'code', 'event_date'],
      durationMonths: '12',
      practices: 'A81001, A81003',
      reason: 'The second practice joined the study.',
    });
    expect(sent.status).toBe(303);
    const amendment = await t.http.get(`/api/bids/${bid.id}/amendments/2`).set(bid.researcher.auth);
    expect(amendment.status).toBe(200);
    expect(JSON.stringify(amendment.body)).toContain('A81003');
  });
});
