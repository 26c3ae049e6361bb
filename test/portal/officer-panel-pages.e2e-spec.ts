import { SESSION_COOKIE } from '@custodian/portal';
import { createTestApp, TestApp, TEST_PASSWORD } from '@custodian/testing';
import { addEvent, addObjection, addPatient, seedPractice } from '../release-helpers';

/**
 * The release officer's and the panel's pages (in-process, supertest, real PostgreSQL, the real
 * release engine): the applicant organisation and its kind, the submission date and days waiting,
 * the officer's notes for the panel; the panel's record after a decision, and decided requests
 * found by state; release lists with date, title and state; confirmation before a second release;
 * progress as rows of expected, phase and elapsed time; the exclusion report in words.
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
const text = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;|\s+/g, ' ')
    .replace(/&#39;|&rsquo;/g, '’');

describe('portal: the release officer’s and the panel’s pages', () => {
  let t: TestApp;
  let researcher: { auth: { Authorization: string } };
  let panelAuth: { Authorization: string }[];
  let officer: Browser;
  let member: Browser;
  let bidId = '';

  async function signIn(email: string, home: string): Promise<Browser> {
    const page = await t.http.get('/sign-in').expect(200);
    const res = await t.http
      .post('/sign-in')
      .set('cookie', cookieOf(page)!)
      .type('form')
      .send({ _csrf: csrfOf(page.text), email, password: TEST_PASSWORD });
    expect(res.status).toBe(303);
    const cookie = cookieOf(res)!;
    const html = (await t.http.get(home).set('cookie', cookie)).text;
    return {
      cookie,
      csrf: csrfOf(html) || csrfOf((await t.http.get('/sign-out').set('cookie', cookie)).text),
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
    const pharma = (await t.factory.organisation({ name: 'Pharma Analytics Ltd', kind: 'commercial' })).id;
    researcher = await t.as('researcher', { organisationId: pharma });
    const o = await t.factory.user({ roles: ['release_officer'], organisationId: centre });
    officer = await signIn(o.email, '/screening');
    const members = [];
    for (let i = 0; i < 4; i++)
      members.push(await t.factory.user({ roles: ['panel_member'], organisationId: centre }));
    member = await signIn(members[0].email, '/panel');
    panelAuth = [];
    for (const m of members.slice(1)) panelAuth.push({ Authorization: `Bearer ${await t.login(m.email)}` });
    await seedPractice(t.sql);
    for (let i = 0; i < 6; i++) {
      const id = await addPatient(t.sql, { nhs: String(9_100_000_000 + i) });
      await addEvent(t.sql, id);
      await addEvent(t.sql, id);
    }
    await addObjection(t.sql, String(9_100_000_000 + 5), 'type2');
    const bid = await t.http
      .post('/api/bids')
      .set(researcher.auth)
      .send({
        title: 'Statins for the commercial panel',
        purpose: 'Study of statins and stroke outcomes',
        publicBenefit: 'Fewer strokes in Leeds',
        legalBasis: 's251',
        legalBasisReference: 'CAG 7-07(a)/2013',
        requestedTier: 'pseudonymised',
        datasets: [{ dataset: 'gp', fields: ['nhs_number', 'date_of_birth', 'code', 'event_date'] }],
        durationMonths: 12,
      })
      .expect(201);
    bidId = bid.body.id;
    await t.http.post(`/api/bids/${bidId}/submit`).set(researcher.auth).expect(200);
  }, 120_000);
  afterAll(() => t?.close());

  it('screening shows the applicant, whether commercial, the submission date and days waiting; notes reach the panel', async () => {
    const html = (await get(officer, '/screening').expect(200)).text;
    // The page's title is its heading (a walk-through: "Screening" over "Requests to screen").
    expect(html).toMatch(/<title>Requests to screen – /);
    expect(html).toMatch(/<h1>Requests to screen<\/h1>/);
    const panelList = (await get(member, '/panel').expect(200)).text;
    expect(panelList).toMatch(/<title>Requests in review – /);
    expect(panelList).toMatch(/<h1>Requests in review<\/h1>/);
    const queue = text(html);
    expect(queue).toMatch(/Pharma Analytics Ltd/);
    expect(queue).toMatch(/Commercial/);
    expect(queue).toMatch(/0 days/);
    const page = text((await get(officer, `/screening/${bidId}`).expect(200)).text);
    expect(page).toMatch(/Applicant organisation Pharma Analytics Ltd \(commercial\)/);
    expect(page).toMatch(/Submitted \d{1,2} \w+ \d{4}/);
    await post(officer, `/screening/${bidId}`, {
      outcome: 'accept',
      notes: 'Commercial applicant: check the 12-month term.',
    }).expect(303);
    const panel = text((await get(member, `/panel/${bidId}`).expect(200)).text);
    expect(panel).toMatch(/Pharma Analytics Ltd \(commercial\)/);
    expect(panel).toMatch(/Notes from the release officer.*Commercial applicant: check the 12-month term\./);
  });

  it('after the decision the panel page keeps the record, and decided requests are found by state', async () => {
    await post(member, `/panel/${bidId}/vote`, {
      conflictOfInterest: 'yes',
      interests: 'I advise the applicant',
      decision: 'approve',
    }).expect(303);
    for (const [i, auth] of panelAuth.entries())
      await t.http
        .post(`/api/bids/${bidId}/votes`)
        .set(auth)
        .send({
          decision: 'approve',
          conflictOfInterest: false,
          conditions: i === 0 ? ['Publish the code'] : [],
        })
        .expect(201);
    const page = text((await get(member, `/panel/${bidId}`).expect(200)).text);
    expect(page).toMatch(/Votes counted 3/);
    expect(page).toMatch(/Recused 1/);
    expect(page).toMatch(/Conflict of interest declared/);
    expect(page).toMatch(/Publish the code/);
    const inReview = text((await get(member, '/panel').expect(200)).text);
    expect(inReview).not.toMatch(/Statins for the commercial panel/);
    const approved = text((await get(member, '/panel?state=approved').expect(200)).text);
    expect(approved).toMatch(/Statins for the commercial panel/);
    await t.http.post(`/api/bids/${bidId}/agreement/accept`).set(researcher.auth).expect(200);
  });

  it('releases: progress as rows of expected, phase and time; the exclusion report in words; a second release asks first', async () => {
    const first = await post(officer, '/data-releases', { bidId });
    expect(first.status).toBe(303);
    const releasePath = String(first.headers.location);
    expect(releasePath).toMatch(/^\/data-releases\/[0-9a-f-]{36}$/);
    let html = '';
    for (let i = 0; i < 300; i++) {
      html = (await get(officer, releasePath).expect(200)).text;
      if (/data-state="(completed|failed)"/.test(html)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(html).toMatch(/data-state="completed"/);
    expect(html).toMatch(/<progress[^>]*value="10"[^>]*max="10"|<progress[^>]*max="10"[^>]*value="10"/);
    const page = text(html);
    expect(page).toMatch(/10 of 10 rows written/);
    expect(page).toMatch(/Phase Complete/);
    expect(page).toMatch(/Elapsed/);
    expect(page).toMatch(/Patients with a Type 2 objection: 1 person, 2 GP records/);
    const list = text((await get(officer, '/data-releases').expect(200)).text);
    expect(list).toMatch(/Statins for the commercial panel.*Completed/);
    expect(list).toMatch(/\d{1,2} \w+ \d{4}/);
    const again = await post(officer, '/data-releases', { bidId });
    expect(again.status).toBe(200);
    expect(text(again.text)).toMatch(/A release of this request exists already/);
    const confirmed = await post(officer, '/data-releases', { bidId, confirm: 'yes' });
    expect(confirmed.status).toBe(303);
  });
});
