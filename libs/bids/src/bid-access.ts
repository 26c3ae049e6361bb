import type { Principal } from '@custodian/core';
import type { Bid, BidVersion } from './bid.entity';

/** Roles that read submitted bids across organisations (SPEC §7: "reviewers read"). */
export const REVIEWER_ROLES = ['panel_member', 'release_officer', 'admin', 'auditor'] as const;

export const isReviewer = (u: Pick<Principal, 'roles'>) =>
  u.roles.some((r) => (REVIEWER_ROLES as readonly string[]).includes(r));

/** The organisation whose bids the caller sees as applicant (researchers only). */
export const applicantOrg = (u: Pick<Principal, 'roles' | 'organisationId'>) =>
  u.roles.includes('researcher') ? u.organisationId : null;

/**
 * What reviewers may see of a bid (alias `b`): one that was submitted. Not "every state but draft":
 * a draft withdrawn without ever being submitted is still the applicant's alone (an outsider's probe,
 * 2026-12-07: it became readable by every reviewer). `submitted_at` is set by the first submission
 * and never cleared; a CHECK constraint keeps it set in every state that only a submission reaches
 * (migration 1764000051000), so a row without it is hidden from reviewers, never shown.
 */
export const SUBMITTED_BID_SQL = 'b.submitted_at IS NOT NULL';

/** The same rule for a bid already loaded: whether reviewers may see it (or act on it). */
export const reviewersSee = (bid: Pick<Bid, 'submittedAt'>) => bid.submittedAt !== null;

/**
 * Whether reviewers may see a version of a bid they see: version 1 (the request itself), or an
 * amendment that was submitted — a draft amendment, withdrawn or not, is the applicant's alone.
 */
export const reviewersSeeVersion = (v: Pick<BidVersion, 'baseVersion' | 'submittedAt'>) =>
  v.baseVersion === null || v.submittedAt !== null;

/**
 * The visibility rule as SQL (alias `b`), so lists are scoped in the query: researchers see their
 * organisation's bids in every state; reviewers see every bid that was submitted.
 */
export function visibleBidsWhere(u: Pick<Principal, 'roles' | 'organisationId'>, firstParam: number) {
  return {
    sql: `((b.organisation_id = $${firstParam}::uuid) OR ($${firstParam + 1}::boolean AND ${SUBMITTED_BID_SQL}))`,
    params: [applicantOrg(u), isReviewer(u)] as unknown[],
  };
}

/**
 * Whether the caller sees the panel's inner workings (individual votes, internal notes): a
 * reviewer who is not of the applicant organisation. The applicant never does, whatever other roles
 * they hold.
 */
export const seesInternals = (
  u: Pick<Principal, 'roles' | 'organisationId'>,
  bid: Pick<Bid, 'organisationId'>,
) => isReviewer(u) && u.organisationId !== bid.organisationId;
