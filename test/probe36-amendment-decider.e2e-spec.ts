import { createTestApp, TestApp } from '@custodian/testing';
import { portalSignIn } from './support/portal-session';
import { completedRelease, screenedAmendment, supersededReleaseSetUp } from './support/amendment-releases';
import type { As } from './support/reviewers';

/**
 * Probe 36's two open questions on a narrowing amendment that a release officer approves alone
 * (/work/notes/probe36-FINDINGS.md), decided as SPEC §1 reads for votes, fail closed: the approval
 * is a decision, as a vote is.
 * - An administrator who also holds the release officer role approved one alone; administrators
 *   never vote. Now 403 SEGREGATION_OF_DUTIES, audited, and the portal does not offer it.
 * - The officer who approved it alone then released the bid; a panel member who voted may not.
 *   Now refused as the voter is (403), and the portal says why.
 * Both failed before (200, 202).
 */
describe('probe 36: who approves an amendment alone', () => {
  let t: TestApp;
  let researcher: As;
  let officer: As;
  let releaser: As;
  let panel: As[];
  let centre: string;

  beforeAll(async () => {
    t = await createTestApp({ PANEL_QUORUM: '3' });
    ({ researcher, officer, releaser, panel, centre } = await supersededReleaseSetUp(t));
  });
  afterAll(() => t?.close());

  const narrowing = { reason: 'A shorter study', durationMonths: 6 };

  it('an administrator who is also a release officer does not approve one alone', async () => {
    const bidId = (await t.factory.bid('active', { researcher, officer, panel })).id;
    await t.http.post(`/api/bids/${bidId}/amendments`).set(researcher.auth).send(narrowing).expect(201);
    await t.http.post(`/api/bids/${bidId}/amendments/2/submit`).set(researcher.auth).expect(200);
    const adminOfficer = await t.as(['admin', 'release_officer'], { organisationId: centre });
    const res = await t.http
      .post(`/api/bids/${bidId}/amendments/2/screen`)
      .set(adminOfficer.auth)
      .send({ outcome: 'approve' });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('SEGREGATION_OF_DUTIES');
    const { rows } = await t.sql.query(
      `SELECT outcome FROM audit_log WHERE actor_id = $1 AND action = 'bid.amendment.screen'`,
      [adminOfficer.user.id],
    );
    expect(rows.map((r) => r.outcome)).toEqual(['denied']);
    const amendment = await t.http.get(`/api/bids/${bidId}/amendments/2`).set(officer.auth).expect(200);
    expect(amendment.body.state).toBe('submitted');
    // The portal's screening page offers them the review and the return, not the approval.
    const s = await portalSignIn(t, adminOfficer.user.email);
    const page = (await t.http.get(`/screening/${bidId}/amendments/2`).set('cookie', s.cookie).expect(200))
      .text;
    expect(page).toContain('value="accept"');
    expect(page).not.toContain('value="approve"');
  });

  it('the officer who approved one alone does not release the bid; another officer does', async () => {
    const bidId = (await t.factory.bid('active', { researcher, officer, panel })).id;
    await screenedAmendment(t, bidId, { researcher, officer }, narrowing, 'approve');
    await t.http.post(`/api/bids/${bidId}/agreement/accept`).set(researcher.auth).expect(200);
    const refused = await t.http.post(`/api/bids/${bidId}/releases`).set(officer.auth);
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('SEGREGATION_OF_DUTIES');
    const denied = await t.sql.query(
      `SELECT outcome FROM audit_log WHERE actor_id = $1 AND action = 'release.denied' AND bid_id = $2`,
      [officer.user.id, bidId],
    );
    expect(denied.rows.map((r) => r.outcome)).toEqual(['denied']);
    const s = await portalSignIn(t, officer.user.email);
    const page = (await t.http.get('/data-releases').set('cookie', s.cookie).expect(200)).text;
    expect(page.replace(/\s+/g, ' ')).toContain('You approved an amendment of this request alone');
    await completedRelease(t, bidId, releaser);
  });
});
