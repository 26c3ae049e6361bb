import { createTestApp, TestApp } from '@custodian/testing';
import { screenedAmendment } from './support/amendment-releases';
import { panelVote, recusalPanel, reviewAgain } from './support/recusal';
import type { As } from './support/reviewers';

/**
 * Probe 23: SPEC §1 — "a panel member who declares a conflict … is recused and cannot vote on that
 * bid". The recusal is kept per review round only: once the bid is returned, resubmitted and
 * screened again, the member who declared a conflict on it votes again and is counted, and the
 * same member's conflict on the request is forgotten for its amendment.
 */
describe('probe 23: a declared conflict of interest lasts one review round', () => {
  let t: TestApp;
  let researcher: As;
  let officer: As;
  let conflicted: As;
  let panel: As[];

  beforeAll(async () => {
    t = await createTestApp({ PANEL_QUORUM: '3' });
    ({ researcher, officer, conflicted, panel } = await recusalPanel(t));
  });
  afterAll(() => t?.close());

  it('a member recused for a declared conflict is not counted when the same bid comes back for review', async () => {
    const bidId = (await t.factory.bid('in_review', { researcher, officer })).id;
    // Round 1: the member declares a conflict with this request and is recused.
    const recused = await panelVote(t, bidId, conflicted, 'approve', true).expect(201);
    expect(recused.body).toMatchObject({ recused: true });
    for (const m of panel) await panelVote(t, bidId, m, 'return', false).expect(201);
    const returned = await t.http.get(`/api/bids/${bidId}`).set(researcher.auth).expect(200);
    expect(returned.body.state).toBe('returned');

    // The applicant resubmits the same request unchanged; it is screened into review again.
    await reviewAgain(t, bidId, { researcher, officer });

    // Round 2: the member who declared the conflict votes, and the vote counts towards the decision.
    const res = await panelVote(t, bidId, conflicted, 'approve', false);
    const counted = res.status === 201 && res.body.recused === false;
    expect({ status: res.status, counted }).toEqual({ status: expect.any(Number), counted: false });
  });

  it("a member recused on the request is not counted on the same request's amendment", async () => {
    const bid = await t.factory.bid('in_review', { researcher, officer });
    await panelVote(t, bid.id, conflicted, 'approve', true).expect(201);
    for (const m of panel) await panelVote(t, bid.id, m, 'approve', false).expect(201);
    await t.http.post(`/api/bids/${bid.id}/agreement/accept`).set(researcher.auth).expect(200);

    await screenedAmendment(
      t,
      bid.id,
      { researcher, officer },
      {
        reason: 'We also need the sex of each patient',
        datasets: [{ dataset: 'gp', fields: ['nhs_number', 'date_of_birth', 'sex', 'code', 'event_date'] }],
      },
      'accept',
    );
    const res = await t.http
      .post(`/api/bids/${bid.id}/amendments/2/votes`)
      .set(conflicted.auth)
      .send({ decision: 'approve', conflictOfInterest: false });
    const counted = res.status === 201 && res.body.recused === false;
    expect({ status: res.status, counted }).toEqual({ status: expect.any(Number), counted: false });
  });
});
