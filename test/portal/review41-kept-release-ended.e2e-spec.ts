import { createTestApp, TestApp } from '@custodian/testing';
import { portalSignIn } from '../support/portal-session';
import { completedRelease, screenedAmendment, supersededReleaseSetUp } from '../support/amendment-releases';
import type { As } from '../support/reviewers';

/**
 * Review 41's note O1: a release kept by an amendment of the term alone (39822cf), whose agreement
 * then reached its end date before the expiry sweep, was said on the researcher's page to have
 * stopped because "the agreement it was made under was replaced by version 2" — it was not replaced,
 * its term ended. Failed before (the "replaced" wording).
 */
describe('review 41: why a kept release stopped', () => {
  let t: TestApp;
  let researcher: As;
  let officer: As;
  let releaser: As;
  let panel: As[];

  beforeAll(async () => {
    t = await createTestApp({ PANEL_QUORUM: '3' });
    ({ researcher, officer, releaser, panel } = await supersededReleaseSetUp(t));
  }, 120_000);
  afterAll(() => t?.close());

  it('says the agreement is no longer in force, not that it was replaced', async () => {
    const bidId = (await t.factory.bid('active', { researcher, officer, panel })).id;
    const v1 = await completedRelease(t, bidId, releaser);
    await screenedAmendment(
      t,
      bidId,
      { researcher, officer },
      { reason: 'The study ends sooner', durationMonths: 6 },
      'approve',
    );
    await t.http.post(`/api/bids/${bidId}/agreement/accept`).set(researcher.auth).expect(200);
    // The kept release's agreement (v2) reaches its end date; the sweep has not yet run.
    await t.sql.query(
      `UPDATE agreements SET start_date = ((now() AT TIME ZONE 'UTC')::date - interval '6 months')::date,
                             end_date = (now() AT TIME ZONE 'UTC')::date
        WHERE bid_id = $1 AND status = 'active'`,
      [bidId],
    );
    // The release was made months before the term amendment came into force.
    await t.sql.query(`UPDATE releases SET completed_at = now() - interval '7 months' WHERE id = $1`, [v1]);
    const s = await portalSignIn(t, researcher.user.email);
    const page = (await t.http.get(`/requests/${bidId}`).set('cookie', s.cookie).expect(200)).text.replace(
      /\s+/g,
      ' ',
    );
    expect(page).toContain(v1);
    expect(page).toContain('the agreement it was made under is no longer in force');
    expect(page).not.toContain('was replaced by version');
  });
});
