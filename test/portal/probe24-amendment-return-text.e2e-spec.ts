import { createTestApp, TestApp } from '@custodian/testing';
import { portalSignIn } from '../support/portal-session';

type As = Awaited<ReturnType<TestApp['as']>>;

/**
 * probe-24, finding 5: the portal's vote form on an amendment (`/panel/:id/amendments/:version`) has
 * the conflict question and approve / reject / return only: no box for what the applicant should
 * change (nor for conditions or the declared interests, which the request's vote form has), and
 * the handler sends `decision` and `conflictOfInterest` alone. So a panel working in the portal
 * returns an amendment with nothing to act on: the applicant reads only that it was returned.
 * docs/governance.md: "A return carries what the returning members asked for (their votes'
 * conditions …) in its remarks, as a bid's return does" (fixed for the API after probe-23 #4).
 */
const text = (html: string) =>
  html
    .replace(/<script[\s\S]*?<\/script>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;|\s+/g, ' ');

describe('probe-24: returning an amendment from the portal', () => {
  let t: TestApp;
  let researcher: As;
  let officer: As;
  let panel: As[];

  beforeAll(async () => {
    t = await createTestApp({ PANEL_QUORUM: '3' });
    const centre = (await t.factory.organisation({ name: 'Centre', kind: 'public_body' })).id;
    researcher = await t.as('researcher');
    officer = await t.as('release_officer', { organisationId: centre });
    panel = [];
    for (let i = 0; i < 3; i++) panel.push(await t.as('panel_member', { organisationId: centre }));
  }, 120_000);
  afterAll(() => t?.close());

  it('each member can say what to change, and the applicant reads it', async () => {
    const bidId = (await t.factory.bid('active', { researcher, officer, panel })).id;
    await t.http
      .post(`/api/bids/${bidId}/amendments`)
      .set(researcher.auth)
      .send({
        reason: 'We need the sex of each patient too',
        datasets: [{ dataset: 'gp', fields: ['nhs_number', 'date_of_birth', 'code', 'event_date', 'sex'] }],
      })
      .expect(201);
    await t.http.post(`/api/bids/${bidId}/amendments/2/submit`).set(researcher.auth).expect(200);
    await t.http
      .post(`/api/bids/${bidId}/amendments/2/screen`)
      .set(officer.auth)
      .send({ outcome: 'accept', remarks: 'widens' })
      .expect(200);

    const path = `/panel/${bidId}/amendments/2`;
    const first = await portalSignIn(t, (panel[0].user as unknown as { email: string }).email, path);
    const form = await t.http.get(path).set('cookie', first.cookie).expect(200);
    expect(form.text).toMatch(/<textarea[^>]*name="conditions"/);

    const asked = 'Say why the sex of each patient is needed for the analysis';
    for (const member of panel) {
      const me = await portalSignIn(t, (member.user as unknown as { email: string }).email, path);
      const sent = await t.http
        .post(path)
        .set('cookie', me.cookie)
        .type('form')
        .send({ _csrf: me.csrf, conflictOfInterest: 'no', decision: 'return', conditions: asked });
      expect(sent.status).toBe(303);
    }
    const mine = await portalSignIn(
      t,
      (researcher.user as unknown as { email: string }).email,
      `/requests/${bidId}`,
    );
    const page = text((await t.http.get(`/requests/${bidId}/amendments/2`).set('cookie', mine.cookie)).text);
    expect(page).toContain(asked);
  });
});
