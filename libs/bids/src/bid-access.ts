import type { Principal } from '@custodian/core';
import type { Bid } from './bid.entity';

/** Roles that read submitted bids across organisations (SPEC §7: "reviewers read"). */
export const REVIEWER_ROLES = ['panel_member', 'release_officer', 'admin', 'auditor'] as const;

export const isReviewer = (u: Pick<Principal, 'roles'>) =>
  u.roles.some((r) => (REVIEWER_ROLES as readonly string[]).includes(r));

/** The organisation whose bids the caller sees as applicant (researchers only). */
export const applicantOrg = (u: Pick<Principal, 'roles' | 'organisationId'>) =>
  u.roles.includes('researcher') ? u.organisationId : null;

/**
 * The visibility rule as SQL (alias `b`), so lists are scoped in the query: researchers see their
 * organisation's bids in every state; reviewers see every bid that has left draft.
 */
export function visibleBidsWhere(u: Pick<Principal, 'roles' | 'organisationId'>, firstParam: number) {
  return {
    sql: `((b.organisation_id = $${firstParam}::uuid) OR ($${firstParam + 1}::boolean AND b.state <> 'draft'))`,
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
