import type { TestApp } from '@custodian/testing';
import { As, Reviewers, reviewers } from './reviewers';

/**
 * The set-up the recusal tests share (probe 23, review 24): SPEC §1, "a panel member who declares a
 * conflict … is recused and cannot vote on that bid".
 */

/** The reviewers with a panel of three, and one more panel member of the centre: the one who declares a conflict. */
export async function recusalPanel(t: TestApp): Promise<Reviewers & { conflicted: As }> {
  const people = await reviewers(t);
  return { ...people, conflicted: await t.as('panel_member', { organisationId: people.centre }) };
}

/** `who`'s vote on bid `bidId` (`POST /api/bids/:id/votes`); a declared conflict names the interest. */
export const panelVote = (
  t: TestApp,
  bidId: string,
  who: As,
  decision: string,
  conflictOfInterest: boolean,
) =>
  t.http
    .post(`/api/bids/${bidId}/votes`)
    .set(who.auth)
    .send({
      decision,
      conflictOfInterest,
      ...(conflictOfInterest ? { interests: 'I advise the applicant' } : {}),
    });

/** The returned bid resubmitted unchanged by its researcher and screened into review again: the next round. */
export async function reviewAgain(
  t: TestApp,
  bidId: string,
  { researcher, officer }: Pick<Reviewers, 'researcher' | 'officer'>,
): Promise<void> {
  await t.http.post(`/api/bids/${bidId}/submit`).set(researcher.auth).expect(200);
  await t.http
    .post(`/api/bids/${bidId}/screen`)
    .set(officer.auth)
    .send({ outcome: 'accept', remarks: 'again' })
    .expect(200);
}
