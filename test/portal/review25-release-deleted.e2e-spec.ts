import { createTestApp, TestApp } from '@custodian/testing';
import { pageText, signInAs } from '../support/portal-session';
import { completedRelease, seedReleasableGpData } from '../support/amendment-releases';
import { type As, reviewers } from '../support/reviewers';

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
describe('review-25: a release whose agreement reached its end date, before the sweep', () => {
  let t: TestApp;
  let researcher: As;
  let officer: As;

  beforeAll(async () => {
    t = await createTestApp({ PANEL_QUORUM: '1' });
    ({ researcher, officer } = await reviewers(t, 0));
    await seedReleasableGpData(t, 9_200_000_000);
  }, 120_000);
  afterAll(() => t?.close());

  it('is not said to be replaced by an amendment, and is not both deleted and linked', async () => {
    const bidId = (await t.factory.bid('active', { researcher, officer })).id;
    const releaseId = await completedRelease(t, bidId, officer);
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

    const me = await signInAs(t, researcher, `/requests/${bidId}`);
    const html = (await t.http.get(`/requests/${bidId}`).set('cookie', me.cookie).expect(200)).text;
    const page = pageText(html);
    const release = page.slice(page.indexOf('Release of'));
    // No amendment replaced anything: the reason given must not say so.
    expect.soft(release).not.toMatch(/replaced by version/);
    // A release shown as deleted must not offer its files for download.
    const linked = html.includes(`/requests/${bidId}/releases/${releaseId}/files/`);
    const deleted = /Files deleted/.test(release);
    expect.soft({ linked, deleted }).not.toEqual({ linked: true, deleted: true });
  });
});
