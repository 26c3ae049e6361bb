import { SESSION_COOKIE } from '@custodian/portal';
import { createTestApp, TestApp, TEST_PASSWORD } from '@custodian/testing';

/**
 * Amendments in the portal (#25), page by page (in-process, supertest, real PostgreSQL): the
 * researcher amends an active request from a form pre-filled with the version in force; the
 * officer sees the change as a table (field, in force, proposed) and, since it widens, cannot
 * approve it alone; the panel votes on it; the researcher accepts the agreement's v2.
 */
interface Browser {
  cookie: string;
  csrf: string;
}
const cookieOf = (res: { headers: Record<string, unknown> }): string | undefined => {
  const set = ([] as string[]).concat((res.headers['set-cookie'] as string[] | string | undefined) ?? []);
  return set.find((s) => s.startsWith(`${SESSION_COOKIE}=`))?.split(';')[0];
};
const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';

describe('portal: amendments', () => {
  let t: TestApp;
  type As = Awaited<ReturnType<TestApp['as']>>;
  let researcher: As;
  let officer: As;
  let panel: As[];

  async function signIn(email: string, home: string): Promise<Browser> {
    const page = await t.http.get('/sign-in').expect(200);
    const res = await t.http
      .post('/sign-in')
      .set('cookie', cookieOf(page)!)
      .type('form')
      .send({ _csrf: csrfOf(page.text), email, password: TEST_PASSWORD });
    expect(res.status).toBe(303);
    const cookie = cookieOf(res)!;
    const landing = await t.http.get(home).set('cookie', cookie).expect(200);
    return {
      cookie,
      csrf: csrfOf(landing.text) || csrfOf((await t.http.get('/sign-out').set('cookie', cookie)).text),
    };
  }
  const get = (b: Browser, path: string) => t.http.get(path).set('cookie', b.cookie);
  const post = (b: Browser, path: string, form: Record<string, unknown>) =>
    t.http
      .post(path)
      .set('cookie', b.cookie)
      .type('form')
      .send({ _csrf: b.csrf, ...form });

  beforeAll(async () => {
    t = await createTestApp({ PANEL_QUORUM: '3' });
    const centre = (await t.factory.organisation({ name: 'Centre', kind: 'public_body' })).id;
    researcher = await t.as('researcher');
    officer = await t.as('release_officer', { organisationId: centre });
    panel = [];
    for (let i = 0; i < 3; i++) panel.push(await t.as('panel_member', { organisationId: centre }));
  }, 120_000);
  afterAll(() => t?.close());

  it('researcher → officer → panel → the researcher accepts agreement v2', async () => {
    const bid = await t.factory.bid('active', { researcher, officer, panel });
    const me = await signIn((researcher.user as unknown as { email: string }).email, '/requests');
    expect((await get(me, `/requests/${bid.id}`).expect(200)).text).toContain(`/requests/${bid.id}/amend`);

    // The form shows the version in force.
    const form = await get(me, `/requests/${bid.id}/amend`).expect(200);
    expect(form.text).toMatch(/name="fields_gp" type="checkbox" value="date_of_birth" checked/);
    expect(form.text).not.toMatch(/name="fields_gp" type="checkbox" value="sex" checked/);
    expect(form.text).toMatch(/id="durationMonths" name="durationMonths"[^>]*value="12"/);
    const tooShort = await post(me, `/requests/${bid.id}/amend`, { reason: 'x', durationMonths: '12' });
    expect(tooShort.status, tooShort.text.slice(0, 3000)).toBe(400);
    const sent = await post(me, `/requests/${bid.id}/amend`, {
      fields_gp: ['nhs_number', 'date_of_birth', 'sex', 'code', 'event_date'],
      durationMonths: '12',
      reason: 'We also need the sex of each patient.',
    }).expect(303);
    expect(sent.headers.location).toBe(`/requests/${bid.id}/amendments/2`);

    // The officer: in the queue, the diff as a table, no approval of a widening.
    const desk = await signIn((officer.user as unknown as { email: string }).email, '/screening');
    expect((await get(desk, '/screening').expect(200)).text).toContain(`/screening/${bid.id}/amendments/2`);
    const page = await get(desk, `/screening/${bid.id}/amendments/2`).expect(200);
    expect(page.text).toContain('datasets.gp');
    expect(page.text).toContain('nhs_number, date_of_birth, sex, code, event_date');
    expect(page.text).toContain('Widens');
    expect(page.text).not.toContain('value="approve"');
    const refused = await post(desk, `/screening/${bid.id}/amendments/2`, { outcome: 'approve' });
    expect(refused.status).toBe(409);
    expect(refused.text).toContain('only the panel can approve it');
    await post(desk, `/screening/${bid.id}/amendments/2`, { outcome: 'accept' }).expect(303);

    // The panel votes on the change.
    for (const member of panel) {
      const b = await signIn((member.user as unknown as { email: string }).email, '/panel');
      expect((await get(b, `/panel/${bid.id}/amendments/2`).expect(200)).text).toContain('datasets.gp');
      await post(b, `/panel/${bid.id}/amendments/2`, {
        conflictOfInterest: 'no',
        decision: 'approve',
      }).expect(303);
    }

    // The researcher accepts agreement v2: the amendment is in force.
    const offer = await get(me, `/requests/${bid.id}/amendments/2`).expect(200);
    expect(offer.text).toMatch(/Accept agreement DSA-\d{4}-\d{4}-v2/);
    await post(me, `/requests/${bid.id}/accept`, {}).expect(303);
    const after = await t.http.get(`/api/bids/${bid.id}`).set(researcher.auth).expect(200);
    expect(after.body).toMatchObject({ version: 2, pendingAmendment: null });
    expect(after.body.agreement.reference).toMatch(/-v2$/);
  });
  it('the researcher declines an approved amendment: its agreement version closed, the version in force kept', async () => {
    const bid = await t.factory.bid('active', { researcher, officer, panel });
    await t.http
      .post(`/api/bids/${bid.id}/amendments`)
      .set(researcher.auth)
      .send({ reason: 'We finish six months early', durationMonths: 6 })
      .expect(201);
    await t.http.post(`/api/bids/${bid.id}/amendments/2/submit`).set(researcher.auth).expect(200);
    await t.http
      .post(`/api/bids/${bid.id}/amendments/2/screen`)
      .set(officer.auth)
      .send({ outcome: 'approve', remarks: 'narrows' })
      .expect(200);
    const me = await signIn((researcher.user as unknown as { email: string }).email, '/requests');
    const offer = await get(me, `/requests/${bid.id}/amendments/2`).expect(200);
    expect(offer.text).toMatch(/Decline agreement DSA-\d{4}-\d{4}-v2 and withdraw/);
    const done = await post(me, `/requests/${bid.id}/amendments/2/withdraw`, {}).expect(303);
    expect(done.headers.location).toBe(`/requests/${bid.id}`);
    const after = await t.http.get(`/api/bids/${bid.id}`).set(researcher.auth).expect(200);
    expect(after.body).toMatchObject({ version: 1, pendingAmendment: null });
    expect((await get(me, `/requests/${bid.id}`).expect(200)).text).toContain(`/requests/${bid.id}/amend"`);
  });
});
