import { leastIdentifying, tierRank, type Tier } from '@custodian/catalog';
import { ConflictError, ForbiddenError, ValidationError, type DomainError } from '@custodian/core';
import { approvalConditions, type Aggregation, type BidState, type VersionState } from '@custodian/bids';
import { GOVERNANCE_ERRORS } from './governance.errors';
import { BIDS_ERRORS } from '@custodian/bids';

export type VoteDecision = 'approve' | 'reject' | 'return';
export interface CountedVote {
  decision: VoteDecision;
  /** The tier the voter would grant; defaults to the requested tier. */
  tier: Tier;
  conditions: string[];
  /** The member approved linkage with the organisation's other bids. */
  approveLinkage?: boolean;
}

export type PanelOutcome =
  | { outcome: 'pending' }
  | { outcome: 'approved'; grantedTier: Tier; conditions: string[] }
  | { outcome: 'rejected' }
  | { outcome: 'returned' };

export const isAbove = (tier: Tier, requested: Tier) => tierRank(tier) > tierRank(requested);

/**
 * The panel's decision rule (SPEC §4): nothing until `quorum` non-recused votes; then a strict
 * majority of approvals approves at the least identifying tier among them (with every approving
 * vote's conditions), a strict majority of rejections rejects, and anything else returns the bid.
 * A pseudonymised grant, or an anonymised one whose files carry event histories (`histories`:
 * `carriesHistories`), carries the no-linkage condition unless every approving vote approved linkage
 * (#27; fail closed).
 */
export function decide(
  votes: readonly CountedVote[],
  quorum: number,
  requested: Tier,
  histories = false,
): PanelOutcome {
  if (votes.length < quorum) return { outcome: 'pending' };
  const approvals = votes.filter((v) => v.decision === 'approve');
  const rejections = votes.filter((v) => v.decision === 'reject');
  if (approvals.length * 2 > votes.length) {
    const grantedTier = leastIdentifying([requested, ...approvals.map((v) => v.tier)]);
    const conditions = [
      ...new Set(approvals.flatMap((v) => v.conditions.map((c) => c.trim())).filter(Boolean)),
    ];
    const linkageApproved = approvals.every((v) => v.approveLinkage === true);
    return {
      outcome: 'approved',
      grantedTier,
      conditions: approvalConditions(conditions, grantedTier, linkageApproved, histories),
    };
  }
  if (rejections.length * 2 > votes.length) return { outcome: 'rejected' };
  return { outcome: 'returned' };
}

export interface Voter {
  roles: readonly string[];
  organisationId: string | null;
}

/** SPEC §1: only panel members vote, and an administrator never does, whatever else they hold. */
export function voterRefusal(voter: Voter): DomainError | null {
  if (voter.roles.includes('admin') || !voter.roles.includes('panel_member'))
    return new ForbiddenError(
      GOVERNANCE_ERRORS.SEGREGATION_OF_DUTIES,
      'Only panel members who are not administrators vote',
    );
  return null;
}

export interface VoteSituation {
  bid: { state: BidState; organisationId: string; requestedTier: Tier; aggregation: Aggregation | null };
  /** The voter screened the bid into its current review round. */
  screenedIt: boolean;
  /** The voter has already voted in this review round. */
  alreadyVoted: boolean;
}

/**
 * Why this vote may not be cast on this bid (first reason, in the order a caller should learn
 * them), or null when it may. Recusal by declared conflict is not a refusal: the vote is
 * recorded and not counted.
 */
export function voteRefusal(
  voter: Voter,
  vote: { decision: VoteDecision; tier?: Tier },
  s: VoteSituation,
): DomainError | null {
  const { bid } = s;
  if (bid.state !== 'in_review')
    return new ConflictError(
      BIDS_ERRORS.ILLEGAL_TRANSITION,
      `Votes are taken only on bids in review (this one is ${bid.state})`,
      {
        state: bid.state,
      },
    );
  if (voter.organisationId && voter.organisationId === bid.organisationId)
    return new ForbiddenError(
      GOVERNANCE_ERRORS.RECUSED,
      'You are recused: your organisation is the applicant',
    );
  if (s.screenedIt)
    return new ForbiddenError(
      GOVERNANCE_ERRORS.SEGREGATION_OF_DUTIES,
      'You screened this bid into review; another member must vote',
    );
  if (s.alreadyVoted)
    return new ConflictError(GOVERNANCE_ERRORS.ALREADY_VOTED, 'You have already voted on this bid');
  const tier = vote.tier ?? bid.requestedTier;
  if (isAbove(tier, bid.requestedTier))
    return new ValidationError(
      GOVERNANCE_ERRORS.TIER_ABOVE_REQUEST,
      `A vote cannot grant a tier above the request (${bid.requestedTier})`,
    );
  if (vote.decision === 'approve' && tier === 'aggregate' && !bid.aggregation?.dimensions.length)
    return new ValidationError(
      BIDS_ERRORS.AGGREGATION_REQUIRED,
      'Approving at the aggregate tier needs aggregation dimensions the bid does not state; vote return instead',
    );
  return null;
}

export interface AmendmentVoteSituation {
  amendment: { state: VersionState };
  bid: { organisationId: string; grantedTier: Tier };
  /** The voter screened the amendment into its review. */
  screenedIt: boolean;
  /** The voter has already voted on it. */
  alreadyVoted: boolean;
}

/**
 * Why this vote may not be cast on this amendment (#25), or null: the rules of a bid's vote, on
 * the amendment's state; the tier is the one in force (an amendment does not change it).
 */
export function amendmentVoteRefusal(
  voter: Voter,
  vote: { decision: VoteDecision; tier?: Tier },
  s: AmendmentVoteSituation,
): DomainError | null {
  if (s.amendment.state !== 'in_review')
    return new ConflictError(
      BIDS_ERRORS.ILLEGAL_TRANSITION,
      `Votes are taken only on amendments in review (this one is ${s.amendment.state})`,
      { state: s.amendment.state },
    );
  if (voter.organisationId && voter.organisationId === s.bid.organisationId)
    return new ForbiddenError(
      GOVERNANCE_ERRORS.RECUSED,
      'You are recused: your organisation is the applicant',
    );
  if (s.screenedIt)
    return new ForbiddenError(
      GOVERNANCE_ERRORS.SEGREGATION_OF_DUTIES,
      'You screened this amendment into review; another member must vote',
    );
  if (s.alreadyVoted)
    return new ConflictError(GOVERNANCE_ERRORS.ALREADY_VOTED, 'You have already voted on this amendment');
  if (vote.tier !== undefined && vote.tier !== s.bid.grantedTier)
    return new ValidationError(
      GOVERNANCE_ERRORS.AMENDMENT_TIER_FIXED,
      `An amendment keeps the tier in force (${s.bid.grantedTier}); vote without a tier`,
    );
  return null;
}
