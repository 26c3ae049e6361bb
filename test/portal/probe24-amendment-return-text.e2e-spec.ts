import { createTestApp, TestApp } from '@custodian/testing';
import { pageText, postForm, signInAs } from '../support/portal-session';
import { screenedAmendment } from '../support/amendment-releases';
import { type As, reviewers } from '../support/reviewers';

/**
 * probe-24, finding 5: the portal's vote form on an amendment (`/panel/:id/amendments/:version`) has
 * the conflict question and approve / reject / return only: no box for what the applicant should
 * change (nor for conditions or the declared interests, which the request's vote form has), and
 * the handler sends `decision` and `conflictOfInterest` alone. So a panel working in the portal
 * returns an amendment with nothing to act on: the applicant reads only that it was returned.
 * docs/governance.md: "A return carries what the returning members asked for (their votes'
 * conditions …) in its remarks, as a bid's return does" (fixed for the API after probe-23 #4).
 */
describe('probe-24: returning an amendment from the portal', () => {
  let t: TestApp;
  let researcher: As;
  let officer: As;
  let panel: As[];

  beforeAll(async () => {
    t = await createTestApp({ PANEL_QUORUM: '3' });
    ({ researcher, officer, panel } = await reviewers(t));
  }, 120_000);
  afterAll(() => t?.close());

  it('each member can say what to change, and the applicant reads it', async () => {
    const bidId = (await t.factory.bid('active', { researcher, officer, panel })).id;
    await screenedAmendment(
      t,
      bidId,
      { researcher, officer },
      {
        reason: 'We need the sex of each patient too',
        datasets: [{ dataset: 'gp', fields: ['nhs_number', 'date_of_birth', 'code', 'event_date', 'sex'] }],
      },
      'accept',
    );

    const path = `/panel/${bidId}/amendments/2`;
    const first = await signInAs(t, panel[0], path);
    const form = await t.http.get(path).set('cookie', first.cookie).expect(200);
    expect(form.text).toMatch(/<textarea[^>]*name="conditions"/);

    const asked = 'Say why the sex of each patient is needed for the analysis';
    for (const member of panel) {
      const me = await signInAs(t, member, path);
      const sent = await postForm(t, me, path, {
        conflictOfInterest: 'no',
        decision: 'return',
        conditions: asked,
      });
      expect(sent.status).toBe(303);
    }
    const mine = await signInAs(t, researcher, `/requests/${bidId}`);
    const page = pageText(
      (await t.http.get(`/requests/${bidId}/amendments/2`).set('cookie', mine.cookie)).text,
    );
    expect(page).toContain(asked);
  });
});
