import { createTestApp, TestApp } from '@custodian/testing';
import { portalSignIn } from '../support/portal-session';
import { addEvent, addPatient, seedPractice } from '../release-helpers';

type As = Awaited<ReturnType<TestApp['as']>>;

/**
 * review-25: the request page (researcher.controller.ts, 3b8a18f) reads the API's
 * `downloadable: false` on a completed release of an active bid as "made under an agreement
 * version an amendment replaced". But the API says false for any reason a download is refused
 * (download-guard.ts): also when the agreement in force has reached its end date and the
 * agreements sweep (a cron job) has not yet moved the bid to `expired`. No amendment exists: the
 * page then tells the researcher the release's files are deleted "because the agreement it was
 * made under was replaced by version 1" — the very version it was made under — and, as the
 * portal's own `downloadable` ignores the API's, still links its files under the "Files deleted"
 * tag (links that are refused). The same contradiction (tag and links) shows after an amendment's
 * acceptance until the destruction job has run.
 */
const text = (html: string) =>
  html
    .replace(/<script[\s\S]*?<\/script>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;|\s+/g, ' ');

describe('review-25: a release whose agreement reached its end date, before the sweep', () => {
  let t: TestApp;
  let researcher: As;
  let officer: As;

  beforeAll(async () => {
    t = await createTestApp({ PANEL_QUORUM: '1' });
    const centre = (await t.factory.organisation({ name: 'Centre', kind: 'public_body' })).id;
    researcher = await t.as('researcher');
    officer = await t.as('release_officer', { organisationId: centre });
    await seedPractice(t.sql);
    for (let i = 0; i < 4; i++) {
      const id = await addPatient(t.sql, { nhs: String(9_200_000_000 + i) });
      await addEvent(t.sql, id);
    }
  }, 120_000);
  afterAll(() => t?.close());

  async function releaseOf(bidId: string): Promise<string> {
    const res = await t.http.post(`/api/bids/${bidId}/releases`).set(officer.auth).expect(202);
    for (let i = 0; i < 300; i++) {
      const r = await t.http.get(`/api/releases/${res.body.id}`).set(officer.auth).expect(200);
      if (r.body.state === 'completed') return res.body.id as string;
      if (r.body.state === 'failed') throw new Error(`release failed: ${JSON.stringify(r.body)}`);
      await new Promise((ok) => setTimeout(ok, 100));
    }
    throw new Error('release did not finish');
  }

  it('is not said to be replaced by an amendment, and is not both deleted and linked', async () => {
    const bidId = (await t.factory.bid('active', { researcher, officer })).id;
    const releaseId = await releaseOf(bidId);
    // The end date comes (today, UTC): the API stops downloads at once; the hourly/daily sweep
    // has not run yet, so the bid is still `active` and its files are not deleted.
    await t.sql.query(
      `UPDATE agreements SET start_date = start_date - 365, end_date = (now() AT TIME ZONE 'UTC')::date
        WHERE bid_id = $1 AND status = 'active'`,
      [bidId],
    );
    const api = await t.http.get(`/api/releases/${releaseId}`).set(researcher.auth).expect(200);
    expect(api.body.downloadable).toBe(false);
    const bid = await t.http.get(`/api/bids/${bidId}`).set(researcher.auth).expect(200);
    expect(bid.body.state).toBe('active');
    const amendments = await t.sql.query(
      `SELECT count(*)::int AS n FROM bid_versions WHERE bid_id = $1 AND version > 1`,
      [bidId],
    );
    expect(amendments.rows[0].n).toBe(0);

    const email = (researcher.user as unknown as { email: string }).email;
    const me = await portalSignIn(t, email, `/requests/${bidId}`);
    const html = (await t.http.get(`/requests/${bidId}`).set('cookie', me.cookie).expect(200)).text;
    const page = text(html);
    const release = page.slice(page.indexOf('Release of'));
    // No amendment replaced anything: the reason given must not say so.
    expect.soft(release).not.toMatch(/replaced by version/);
    // A release shown as deleted must not offer its files for download.
    const linked = html.includes(`/requests/${bidId}/releases/${releaseId}/files/`);
    const deleted = /Files deleted/.test(release);
    expect.soft({ linked, deleted }).not.toEqual({ linked: true, deleted: true });
  });
});
