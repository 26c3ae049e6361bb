import { createTestApp, TestApp } from '@custodian/testing';
import { panelVote, recusalPanel, reviewAgain } from './support/recusal';
import type { As } from './support/reviewers';

/**
 * Review 24, finding 1. Today's permanent recusal (vote-steps.ts `saveVote`: a conflict declared in
 * an earlier round recuses every later vote on the bid) sets the vote row's `recused`, but
 * `PanelService.record` still takes `recused` from the request's `conflictOfInterest`: the bid's
 * history says `vote` with `recused: false` and the audit entry `bid.vote` says `recused: false` for
 * a vote that was recused and not counted. The panel page (`panelRecord`) reads that history and
 * shows the vote as counted; the audit trail (SPEC §6: every vote, who/what) records a falsehood.
 */
describe('review 24: a vote recused by an earlier declared conflict is recorded as recused', () => {
  let t: TestApp;
  let researcher: As;
  let officer: As;
  let conflicted: As;
  let auditor: As;
  let panel: As[];

  beforeAll(async () => {
    t = await createTestApp({ PANEL_QUORUM: '3' });
    ({ researcher, officer, conflicted, panel } = await recusalPanel(t));
    auditor = await t.as('auditor', { organisationId: officer.user.organisationId! });
  }, 120_000);
  afterAll(() => t?.close());

  it("round 2's vote of a member who declared a conflict in round 1: history and audit say recused", async () => {
    const bidId = (await t.factory.bid('in_review', { researcher, officer })).id;
    await panelVote(t, bidId, conflicted, 'approve', true).expect(201);
    for (const m of panel) await panelVote(t, bidId, m, 'return', false).expect(201);
    await reviewAgain(t, bidId, { researcher, officer });

    const res = await panelVote(t, bidId, conflicted, 'approve', false).expect(201);
    // The vote itself is recused (today's rule) ...
    expect(res.body.recused).toBe(true);

    // ... and the bid's history, which the panel page reads, says so.
    const events = (await t.http.get(`/api/bids/${bidId}/events`).set(panel[0]!.auth).expect(200)).body as {
      action: string;
      actorId?: string;
      details?: Record<string, unknown>;
    }[];
    const mine = events.filter(
      (e) => (e.action === 'vote' || e.action === 'vote_recused') && e.details?.voteId === res.body.voteId,
    );
    expect(mine).toHaveLength(1);
    expect.soft({ action: mine[0]!.action, recused: mine[0]!.details?.recused }).toEqual({
      action: 'vote_recused',
      recused: true,
    });

    // ... and so does the audit trail's entry of the vote.
    const audit = await t.http
      .get(`/api/audit?bidId=${bidId}&action=bid.vote&limit=100`)
      .set(auditor.auth)
      .expect(200);
    const entry = (audit.body.items as { subjectId: string; details: Record<string, unknown> }[]).find(
      (i) => i.subjectId === res.body.voteId,
    );
    expect.soft(entry?.details.recused).toBe(true);
  });
});
