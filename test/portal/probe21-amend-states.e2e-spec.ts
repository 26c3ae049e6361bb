import { createTestApp, TestApp } from '@custodian/testing';
import { PortalSession, portalSignIn } from '../support/portal-session';

/**
 * probe-21, finding 6: "Amend this request" is a form for a request in any state. Its page
 * (`GET /requests/:id/amend`) serves the full form for a draft, a withdrawn, a rejected or a revoked
 * request (the request page links it only for approved and active ones; the edit, withdraw and cohort
 * pages answer such states with "This request cannot be … now"), and sending it shows the API's
 * words on the reason box: "A bid in state withdrawn cannot be amended: …" (the state name as the
 * API spells it, which finding 7 of the first probe removed from every other refusal).
 */
const text = (html: string) =>
  html
    .replace(/<script[\s\S]*?<\/script>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;|\s+/g, ' ');

describe('probe-21: the amendment form for requests that cannot be amended', () => {
  let t: TestApp;
  let researcher: Awaited<ReturnType<TestApp['as']>>;
  let me: PortalSession;

  beforeAll(async () => {
    t = await createTestApp();
    researcher = await t.as('researcher');
    me = await portalSignIn(t, (researcher.user as unknown as { email: string }).email, '/requests');
  }, 120_000);
  afterAll(() => t?.close());

  const withdrawn = async () => {
    const bid = await t.factory.bid('submitted', {
      researcher,
      body: { title: 'Withdrawn before screening' },
    });
    await t.http.post(`/api/bids/${bid.id}/withdraw`).set(researcher.auth).send({}).expect(200);
    return bid;
  };

  it('a withdrawn request: no amendment form, but why not', async () => {
    const bid = await withdrawn();
    const page = await t.http.get(`/requests/${bid.id}/amend`).set('cookie', me.cookie);
    expect(page.text).not.toContain(`action="/requests/${bid.id}/amend"`);
    expect(page.status).toBe(409);
    expect(text(page.text)).toMatch(/cannot be amended now|only an approved or active request/i);
  });

  it('a withdrawn request: a form sent anyway is refused in plain words, not the API’s', async () => {
    const bid = await withdrawn();
    const sent = await t.http
      .post(`/requests/${bid.id}/amend`)
      .set('cookie', me.cookie)
      .type('form')
      .send({
        _csrf: me.csrf,
        fields_gp: ['nhs_number', 'date_of_birth', 'code', 'event_date', 'sex'],
        durationMonths: '12',
        reason: 'We need the sex of each patient as well.',
      });
    expect([400, 409]).toContain(sent.status);
    expect(text(sent.text)).not.toMatch(/A bid in state|in state withdrawn/);
  });

  it('a draft: no amendment form (it is edited, not amended)', async () => {
    const bid = await t.factory.bid('draft', { researcher, body: { title: 'Still a draft' } });
    const page = await t.http.get(`/requests/${bid.id}/amend`).set('cookie', me.cookie);
    expect(page.text).not.toContain(`action="/requests/${bid.id}/amend"`);
  });
});
