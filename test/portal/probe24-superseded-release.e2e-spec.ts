import { createTestApp, TestApp } from '@custodian/testing';
import { pageText, signInAs } from '../support/portal-session';
import { completedRelease, screenedAmendment, seedReleasableGpData } from '../support/amendment-releases';
import { type As, reviewers } from '../support/reviewers';

/**
 * probe-24, finding 4: accepting an amendment's agreement (v2) stops the downloads of every release
 * made under v1 and deletes its files (closing note 13, probe-23 #1/#2). In the portal:
 * - before: the amendment page's "Before you accept DSA-…-v2" says only "Accepting brings the
 *   amendment into force: releases from now on follow it, and the agreement in force is
 *   superseded" — nothing says the files already released become unavailable and are deleted;
 * - after: the request page lists the old release as "Completed" with its files (no links), with no
 *   "Files deleted" tag and no reason, and a download link kept from before answers "they were
 *   deleted when the agreement ended" — but the agreement did not end: v2 is active.
 */
describe('probe-24: a release made under a superseded agreement, in the portal', () => {
  let t: TestApp;
  let researcher: As;
  let officer: As;
  let panel: As[];

  beforeAll(async () => {
    t = await createTestApp({ PANEL_QUORUM: '3' });
    ({ researcher, officer, panel } = await reviewers(t));
    await seedReleasableGpData(t);
  }, 120_000);
  afterAll(() => t?.close());

  it('warns before acceptance, and says afterwards why the old files are gone', async () => {
    const bidId = (await t.factory.bid('active', { researcher, officer, panel })).id;
    const releaseId = await completedRelease(t, bidId, officer);
    await screenedAmendment(
      t,
      bidId,
      { researcher, officer },
      {
        reason: 'We no longer need dates of birth',
        datasets: [{ dataset: 'gp', fields: ['nhs_number', 'code', 'event_date'] }],
      },
      'approve',
    );

    const me = await signInAs(t, researcher, `/requests/${bidId}`);
    const download = `/requests/${bidId}/releases/${releaseId}/files/gp.csv.gz`;
    expect((await t.http.get(download).set('cookie', me.cookie)).status).toBe(200);

    // Before: the offer of v2 says what accepting it does to the files already released.
    const offer = pageText(
      (await t.http.get(`/requests/${bidId}/amendments/2`).set('cookie', me.cookie).expect(200)).text,
    );
    expect(offer).toContain('Before you accept');
    expect(offer).toMatch(
      /(files|releases?)[^.]*(deleted|no longer (be )?(available|downloadable)|downloads? (will )?stop)/i,
    );

    await t.http.post(`/api/bids/${bidId}/agreement/accept`).set(researcher.auth).expect(200);

    // After: the old release is shown as deleted, and why; the refusal does not say the agreement ended.
    const page = pageText((await t.http.get(`/requests/${bidId}`).set('cookie', me.cookie).expect(200)).text);
    const release = page.slice(page.indexOf('Release of'));
    expect(release).toMatch(/^Release of [^]*?Files deleted/);
    expect(release).toMatch(/superseded|amendment|version 2|v2/i);
    const refused = await t.http.get(download).set('cookie', me.cookie);
    expect(refused.status).toBe(409);
    expect(pageText(refused.text)).not.toContain('when the agreement ended');
  });
});
