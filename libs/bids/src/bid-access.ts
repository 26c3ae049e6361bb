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
 * amendment that was submitted — a draft amendment, withdrawn or not, is the applicant's alone; for
 * the panel (`reviewerScope` 'panel'), one that was screened into review (it has a review round).
 */
export const reviewersSeeVersion = (
  v: Pick<BidVersion, 'baseVersion' | 'submittedAt' | 'reviewRound'>,
  scope: 'all' | 'panel' | null = 'all',
) => v.baseVersion === null || (v.submittedAt !== null && (scope !== 'panel' || v.reviewRound !== null));

/**
 * `reviewersSeeVersion` in SQL, over a `bid_versions` row aliased `v`; `panel`: a boolean SQL
 * expression (a parameter), whether the caller's scope is the panel's. One rule, two forms (the
 * bid's history filters by it: `BidsService.eventsBody`); test/amendments.e2e-spec.ts keeps them equal.
 */
export const reviewersSeeVersionSql = (v: string, panel: string) =>
  `(${v}.base_version IS NULL OR (${v}.submitted_at IS NOT NULL AND (NOT ${panel} OR ${v}.review_round IS NOT NULL)))`;

/**
 * Which submitted bids a reviewer reads: `all` (release officers screen what was submitted; admins
 * and auditors oversee), `panel` for one whose only reviewer role is the panel's (SPEC §1: "read
 * bids under review" — those that are or were in review, not one still waiting for screening or
 * returned at it: an outsider's probe, 2026-12-07), none for anyone else.
 */
export const reviewerScope = (u: Pick<Principal, 'roles'>): 'all' | 'panel' | null =>
  u.roles.some((r) => r === 'release_officer' || r === 'admin' || r === 'auditor')
    ? 'all'
    : u.roles.includes('panel_member')
      ? 'panel'
      : null;

/**
 * A bid (alias `b`) before the panel: in review or a state only a review reaches; returned or
 * withdrawn only when it came to that state from review (the panel returned it, or it was withdrawn
 * while in review). Not a bid waiting for screening, even one the panel returned before and the
 * applicant resubmitted (its edits are the release officer's to screen first), nor one returned
 * at screening (a review, 2026-12-07: the API let the panel read those, the portal did not).
 */
export const REVIEWED_BID_SQL = `(b.state IN ('in_review', 'approved', 'rejected', 'active', 'expired', 'revoked', 'closed')
  OR (b.state IN ('returned', 'withdrawn') AND (
       SELECT e.from_state FROM bid_events e
        WHERE e.bid_id = b.id AND e.to_state = b.state
        ORDER BY e.at DESC, e.id DESC LIMIT 1) = 'in_review'))`;

/**
 * The visibility rule as SQL (alias `b`), so lists are scoped in the query: researchers see their
 * organisation's bids in every state; reviewers see the submitted bids of their `reviewerScope`.
 */
export function visibleBidsWhere(u: Pick<Principal, 'roles' | 'organisationId'>, firstParam: number) {
  const scope = `$${firstParam + 1}::text`;
  return {
    sql: `((b.organisation_id = $${firstParam}::uuid) OR (${scope} IS NOT NULL AND ${SUBMITTED_BID_SQL}
           AND (${scope} = 'all' OR ${REVIEWED_BID_SQL})))`,
    params: [applicantOrg(u), reviewerScope(u)] as unknown[],
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
