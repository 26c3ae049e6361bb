import { SESSION_COOKIE } from '@custodian/portal';
import { createTestApp, TestApp, TEST_PASSWORD } from '@custodian/testing';

/**
 * The researcher's journey in the portal, page by page (in-process, supertest, real PostgreSQL):
 * edit a draft or returned request with every field pre-filled, the API's own errors shown on the
 * field they concern, resubmit, withdraw with confirmation, attach a consent cohort, the timeline,
 * the agreement. The browser journey (researcher-journey.e2e-spec.ts) covers the same in Chromium.
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
/** The error message an NHS.UK component shows for a field (`<id>-error`), as text. */
const fieldError = (html: string, id: string) =>
  new RegExp(`id="${id}-error"[^>]*>\\s*(?:<span class="nhsuk-u-visually-hidden">Error: </span>)?([^<]*)<`)
    .exec(html)?.[1]
    ?.trim();
const inputValue = (html: string, id: string) =>
  new RegExp(`id="${id}" name="${id}"[^>]*value="([^"]*)"`).exec(html)?.[1];

const VALID = {
  title: 'Statins and stroke among commercial users',
  purpose: 'Whether statin prescribing is associated with fewer strokes.',
  publicBenefit: 'Evidence for prescribing guidance on stroke prevention.',
  requestedTier: 'pseudonymised',
  legalBasis: 's251',
  legalBasisReference: 'CAG 7-07(a)/2013',
  fields_gp: ['nhs_number', 'sex', 'code', 'event_date'],
  postcodeAreas: 'LS',
  eventsFrom: '2010-01-01',
  eventsTo: '2014-12-31',
  durationMonths: '12',
};

describe('portal: the researcher’s journey, page by page', () => {
  let t: TestApp;
  let me: Browser;
  let officer: { auth: { Authorization: string } };
  let auth: { Authorization: string };

  async function signIn(email: string): Promise<Browser> {
    const page = await t.http.get('/sign-in').expect(200);
    const res = await t.http
      .post('/sign-in')
      .set('cookie', cookieOf(page)!)
      .type('form')
      .send({ _csrf: csrfOf(page.text), email, password: TEST_PASSWORD });
    expect(res.status).toBe(303);
    const cookie = cookieOf(res)!;
    const list = await t.http.get('/requests').set('cookie', cookie).expect(200);
    return {
      cookie,
      csrf: csrfOf(list.text) || csrfOf((await t.http.get('/sign-out').set('cookie', cookie)).text),
    };
  }
  const post = (path: string, form: Record<string, unknown>) =>
    t.http
      .post(path)
      .set('cookie', me.cookie)
      .type('form')
      .send({ _csrf: me.csrf, ...form });
  const draft = async (over: Record<string, unknown> = {}) =>
    (
      await t.http
        .post('/api/bids')
        .set(auth)
        .send({
          title: 'A draft to edit',
          purpose: 'Whether statin prescribing is associated with fewer strokes.',
          publicBenefit: 'Evidence for prescribing guidance on stroke prevention.',
          legalBasis: 'none',
          requestedTier: 'aggregate',
          datasets: [{ dataset: 'gp', fields: ['sex', 'code'] }],
          cohort: { practices: ['A81001'], ageMin: 18, ageMax: 90 },
          aggregation: { dimensions: ['sex', 'age_band'] },
          durationMonths: 6,
          ...over,
        })
        .expect(201)
    ).body as { id: string };

  beforeAll(async () => {
    t = await createTestApp();
    const org = await t.factory.organisation({ name: 'Pharma Analytics Ltd', kind: 'commercial' });
    const user = await t.factory.user({ roles: ['researcher'], organisationId: org.id });
    auth = { Authorization: `Bearer ${await t.login(user.email)}` };
    me = await signIn(user.email);
    officer = await t.as('release_officer');
  }, 120_000);
  afterAll(() => t?.close());

  it('shows the API’s errors on the fields they concern, keeping every value (never raw text on Title)', async () => {
    // Dates reversed: on "Events to".
    const res = await post('/requests/new', { ...VALID, eventsFrom: '2015-01-01' });
    expect(res.status).toBe(400);
    expect(fieldError(res.text, 'eventsTo')).toMatch(/on or after/);
    expect(fieldError(res.text, 'title')).toBeUndefined();
    expect(res.text).toContain('href="#eventsTo"');
    expect(inputValue(res.text, 'title')).toBe(VALID.title);
    expect(inputValue(res.text, 'eventsFrom')).toBe('2015-01-01');
    // A commercial organisation's duration (only the API knows the organisation's kind): on the duration.
    const long24 = await post('/requests/new', { ...VALID, durationMonths: '24' });
    expect(long24.status).toBe(400);
    expect(fieldError(long24.text, 'durationMonths')).toMatch(/12 months.*commercial/);
    expect(fieldError(long24.text, 'title')).toBeUndefined();
    expect(long24.text).toContain('href="#durationMonths"');
    expect(inputValue(long24.text, 'durationMonths')).toBe('24');
    expect(inputValue(long24.text, 'postcodeAreas')).toBe('LS');
    // The title's limit is on the field, and a longer title is an error there.
    const long = await post('/requests/new', { ...VALID, title: 'x'.repeat(201) });
    expect(long.status).toBe(400);
    expect(fieldError(long.text, 'title')).toMatch(/200 characters or fewer/);
    expect(long.text).toMatch(/maxlength="200"|200 characters/);
    // The purpose's and public benefit's limits are on their fields too: a browser keeps within
    // them, where a longer text replaced the whole form with "Your form is too large" (a
    // walk-through, 2026-12-06).
    for (const id of ['purpose', 'publicBenefit'])
      expect(long.text).toMatch(
        new RegExp(
          `<textarea[^>]*id="${id}"[^>]*maxlength="20000"|<textarea[^>]*maxlength="20000"[^>]*id="${id}"`,
        ),
      );
    expect(long.text).toContain('in up to 20,000 characters');
    // A date that does not exist is an error on its field, before the API is asked (the portal's
    // pattern let 2026-02-30 through; the same rule as the API's now, core's isCalendarDate).
    const feb30 = await post('/requests/new', { ...VALID, eventsFrom: '2026-02-30' });
    expect(feb30.status).toBe(400);
    expect(fieldError(feb30.text, 'eventsFrom')).toMatch(/^Enter a real date/);
  });

  it('edits a draft with every field pre-filled, and saves it through PATCH /api/bids/:id', async () => {
    const bid = await draft();
    const page = await t.http.get(`/requests/${bid.id}/edit`).set('cookie', me.cookie);
    expect(page.status).toBe(200);
    expect(inputValue(page.text, 'title')).toBe('A draft to edit');
    expect(inputValue(page.text, 'practices')).toBe('A81001');
    expect(inputValue(page.text, 'ageMin')).toBe('18');
    expect(inputValue(page.text, 'durationMonths')).toBe('6');
    expect(page.text).toMatch(/value="aggregate" checked/);
    expect(page.text).toMatch(/name="dimensions" type="checkbox" value="age_band" checked/);
    // An API error on edit lands on its field too.
    const bad = await post(`/requests/${bid.id}/edit`, { ...VALID, ageMin: '80', ageMax: '20' });
    expect(bad.status).toBe(400);
    expect(fieldError(bad.text, 'ageMax')).toMatch(/youngest/i);
    const saved = await post(`/requests/${bid.id}/edit`, VALID);
    expect(saved.status).toBe(303);
    expect(saved.headers.location).toBe(`/requests/${bid.id}`);
    const after = (await t.http.get(`/api/bids/${bid.id}`).set(auth).expect(200)).body;
    expect(after).toMatchObject({
      title: VALID.title,
      requestedTier: 'pseudonymised',
      legalBasis: 's251',
      aggregation: null,
      cohort: { postcodeAreas: ['LS'], eventsFrom: '2010-01-01', eventsTo: '2014-12-31' },
    });
    expect(after.cohort.practices).toBeUndefined();
  });

  it('a returned request: the remarks beside the form, resubmitted; the timeline names roles, not people', async () => {
    const bid = await draft();
    await t.http.post(`/api/bids/${bid.id}/submit`).set(auth).expect(200);
    await t.http
      .post(`/api/bids/${bid.id}/screen`)
      .set(officer.auth)
      .send({ outcome: 'return', remarks: 'Say why you need age bands.', notes: 'Internal: check the org' })
      .expect(200);
    const show = await t.http.get(`/requests/${bid.id}`).set('cookie', me.cookie).expect(200);
    expect(show.text).toContain(`href="/requests/${bid.id}/edit"`);
    expect(show.text).toContain('Timeline');
    expect(show.text).toMatch(/Returned[\s\S]*Release officer[\s\S]*Say why you need age bands/);
    expect(show.text).not.toContain('Internal: check the org');
    const edit = await t.http.get(`/requests/${bid.id}/edit`).set('cookie', me.cookie).expect(200);
    expect(edit.text).toContain('Say why you need age bands.');
    await post(`/requests/${bid.id}/edit`, { ...VALID, title: 'A returned request, changed' }).expect(303);
    await post(`/requests/${bid.id}/submit`, {}).expect(303);
    const after = (await t.http.get(`/api/bids/${bid.id}`).set(auth).expect(200)).body;
    expect(after).toMatchObject({ state: 'submitted', title: 'A returned request, changed' });
  });

  it('withdraws with a confirmation page, where SPEC allows it', async () => {
    const bid = await draft();
    await t.http.post(`/api/bids/${bid.id}/submit`).set(auth).expect(200);
    const show = await t.http.get(`/requests/${bid.id}`).set('cookie', me.cookie).expect(200);
    expect(show.text).toContain(`href="/requests/${bid.id}/withdraw"`);
    const confirm = await t.http.get(`/requests/${bid.id}/withdraw`).set('cookie', me.cookie).expect(200);
    expect(confirm.text).toMatch(/Are you sure/);
    const done = await post(`/requests/${bid.id}/withdraw`, { remarks: 'Funding ended' });
    expect(done.status).toBe(303);
    expect((await t.http.get(`/api/bids/${bid.id}`).set(auth).expect(200)).body.state).toBe('withdrawn');
    const after = await t.http.get(`/requests/${bid.id}`).set('cookie', me.cookie).expect(200);
    expect(after.text).not.toContain(`href="/requests/${bid.id}/withdraw"`);
    expect(after.text).not.toContain(`href="/requests/${bid.id}/edit"`);
    // Submitted twice (a second tab, a double click) is the service's refusal page: it leads back
    // to where the researcher was — a page of this site only, never a foreign address.
    const other = await draft();
    await post(`/requests/${other.id}/submit`, {}).expect(303);
    const again = await post(`/requests/${other.id}/submit`, {})
      .set('host', 'portal.test')
      .set('referer', `http://portal.test/requests/${other.id}?from=list`);
    expect(again.status).toBe(409);
    expect(again.text).toContain('This cannot be done now');
    expect(again.text).toMatch(
      new RegExp(`class="nhsuk-back-link" href="/requests/${other.id}\\?from=list"`),
    );
    const foreign = await post(`/requests/${other.id}/submit`, {})
      .set('host', 'portal.test')
      .set('referer', `https://evil.example/requests/${other.id}`);
    expect(foreign.status).toBe(409);
    expect(foreign.text).not.toMatch(/nhsuk-back-link/);
    // A path a browser reads as another host's is no way back either (a review).
    for (const path of ['//evil.example/x', '/\\evil.example', '/\t/evil.example']) {
      const odd = await post(`/requests/${other.id}/submit`, {})
        .set('host', 'portal.test')
        .set('referer', `http://portal.test${path}`);
      expect(odd.status).toBe(409);
      expect(odd.text, path).not.toMatch(/nhsuk-back-link/);
    }
    // Browsers send the Referer to this site's own pages only: without it there is no link at all.
    expect(again.headers['referrer-policy']).toBe('same-origin');
  });

  it('a consent request takes its cohort: line-numbered errors, then the count accepted, then submits', async () => {
    const bid = await draft({
      title: 'Consent cohort study',
      legalBasis: 'consent',
      requestedTier: 'identifiable',
      aggregation: undefined,
      datasets: [{ dataset: 'gp', fields: ['nhs_number', 'code'] }],
    });
    const show = await t.http.get(`/requests/${bid.id}`).set('cookie', me.cookie).expect(200);
    expect(show.text).toContain(`href="/requests/${bid.id}/cohort"`);
    const page = await t.http.get(`/requests/${bid.id}/cohort`).set('cookie', me.cookie).expect(200);
    expect(page.text).toContain('type="file"');
    const bad = await post(`/requests/${bid.id}/cohort`, {
      nhsNumbers: '9434765919\n1234567890\n9434765870\nabc',
    });
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/lines? 2 and 4|lines 2, 4/);
    const good = await post(`/requests/${bid.id}/cohort`, {
      nhsNumbers: '9434765919\n9434765870\n9434765919\n',
    });
    expect(good.status).toBe(303);
    // The flash travels in the re-sealed session cookie of the redirect.
    const after = await t.http
      .get(`/requests/${bid.id}`)
      .set('cookie', cookieOf(good) ?? me.cookie)
      .expect(200);
    expect(after.text).toMatch(/2 NHS numbers accepted/);
    expect(after.text).toMatch(/1 repeated/);
    // The summary's cohort says so (it read "Everyone (no restriction)"; a walk-through).
    expect(after.text).toContain('The consenting cohort: 2 NHS numbers on file.');
    expect(after.text).not.toContain('Everyone (no restriction)');
    // The streamed upload the page's script makes (with its progress bar): text/plain, CSRF in a header.
    const streamed = await t.http
      .put(`/requests/${bid.id}/cohort`)
      .set('cookie', me.cookie)
      .set('x-csrf-token', me.csrf)
      .set('content-type', 'text/plain')
      .send('9434765919\n9434765870\n');
    expect(streamed.status).toBe(200);
    expect(streamed.body).toMatchObject({ stored: 2, redirect: `/requests/${bid.id}` });
    const noToken = await t.http
      .put(`/requests/${bid.id}/cohort`)
      .set('cookie', me.cookie)
      .set('content-type', 'text/plain')
      .send('9434765919\n');
    expect(noToken.status).toBe(403);
    await post(`/requests/${bid.id}/submit`, {}).expect(303);
    expect((await t.http.get(`/api/bids/${bid.id}`).set(auth).expect(200)).body.state).toBe('submitted');
  });
});
