import { createTestApp, TestApp } from '@custodian/testing';
import { cookieOf, portalSignIn } from '../support/portal-session';

/**
 * probe-21, finding 3: the practice's "Record the awareness start" button fails every summer night
 * between midnight and 1 am. The portal sends UTC's date as `startedOn`
 * (`new Date().toISOString().slice(0, 10)`), the API wants the practice's today in England
 * (`todayInEngland`, closing note 12: "'Today' for a practice is its date in England") and refuses
 * any other day as backdating: the practice reads "startedOn must be today (…)" and nothing is
 * recorded. The app runs in this process, so only `Date` is moved (timers stay real).
 */
const text = (html: string) =>
  html
    .replace(/<script[\s\S]*?<\/script>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;|\s+/g, ' ');

describe('probe-21: recording the awareness start at 00:30 in British Summer Time', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
    const admin = await t.as('admin');
    await t.http
      .post('/api/practices')
      .set(admin.auth)
      .send({ odsCode: 'B82002', name: 'Harrogate Surgery', rollout: 'national' })
      .expect(201);
  }, 120_000);
  afterAll(async () => {
    vi.useRealTimers();
    await t?.close();
  });

  it('the button records the practice’s today (16 June in England), not UTC’s 15 June', async () => {
    const user = await t.factory.user({ roles: ['practice'], practiceOds: 'B82002' });
    // 23:30 UTC on 15 June 2027 is 00:30 on 16 June in England (BST).
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2027-06-15T23:30:00Z'), shouldAdvanceTime: true });
    const session = await portalSignIn(t, user.email, '/practice');
    const res = await t.http
      .post('/practice/awareness')
      .set('cookie', session.cookie)
      .type('form')
      .send({ _csrf: session.csrf });
    expect(res.status).toBe(303);
    const page = text(
      (
        await t.http
          .get('/practice')
          .set('cookie', cookieOf(res) ?? session.cookie)
          .expect(200)
      ).text,
    );
    vi.useRealTimers();
    expect(page).not.toMatch(/The awareness start was not recorded/);
    expect(page).not.toMatch(/startedOn/);
    expect(page).toMatch(/Awareness start recorded/);
    const { rows } = await t.sql.query(
      `SELECT awareness_started_on::text AS d FROM practices WHERE ods_code = 'B82002'`,
    );
    expect(rows[0].d).toBe('2027-06-16');
  });
});
