/**
 * Named queries of the bids library for other libraries (STYLE 13): `bids`, `agreements` and
 * `bid_cohort_members` are this library's tables; a reader elsewhere imports one of these, so the
 * import graph shows the dependency. Each is SQL text over fixed names; values are bound parameters
 * or the SQL expression the caller names.
 */
import { ORGANISATIONS_SOURCE } from '@custodian/identity';
import { SUBMITTED_BID_SQL } from './bid-access';

/**
 * A bid as reviewers may see it (it was submitted: bid-access.ts): `id, state, organisation_id`.
 * `$1`: the bid id.
 */
export const REVIEWER_BID_SQL = `SELECT b.id, b.state, b.organisation_id FROM bids b WHERE b.id = $1 AND ${SUBMITTED_BID_SQL}`;

/** Locks the bid's row for the rest of the transaction. `$1`: the bid id. */
export const LOCK_BID_SQL = `SELECT 1 FROM bids WHERE id = $1 FOR UPDATE`;

/** A condition: the bid whose id is the expression `bidId` is active and its agreement in force today (UTC). */
export function agreementInForce(bidId: string): string {
  return `EXISTS (
       SELECT 1 FROM bids b JOIN agreements a ON a.bid_id = b.id
        WHERE b.id = ${bidId} AND b.state = 'active' AND a.status = 'active'
          AND a.start_date <= (now() AT TIME ZONE 'UTC')::date
          AND (a.end_date IS NULL OR a.end_date > (now() AT TIME ZONE 'UTC')::date))`;
}

/** The NHS numbers of the consent cohort of the bid whose id is the expression `bidId`. */
export function consentCohortOf(bidId: string): string {
  return `SELECT m.nhs_number FROM bid_cohort_members m WHERE m.bid_id = ${bidId}`;
}

/**
 * Whether a release made under agreement version `version` (an expression) is covered by the bid's
 * agreement in force (the expression `bidId`): made under it, or under an earlier version it keeps
 * the releases of (`releases_from`: only the term changed since). False when no agreement is in
 * force. A release is downloadable, and completes, only so (an amendment supersedes the terms).
 */
export function releaseVersionInForce(version: string, bidId: string): string {
  return `EXISTS (SELECT 1 FROM agreements a WHERE a.bid_id = ${bidId} AND a.status = 'active'
                     AND ${version} BETWEEN coalesce(a.releases_from, a.version) AND a.version)`;
}

/** Whether the user `userId` is among the recipients of the bid `bidId` as it now stands (both expressions). */
export function isBidRecipient(userId: string, bidId: string): string {
  return `EXISTS (SELECT 1 FROM bids b WHERE b.id = ${bidId} AND ${userId} = ANY (b.recipients))`;
}

/** Of the bids whose ids are the uuid[] expression `bidIds`, those of the organisation `organisationId`: a query of one column `id`. */
export function bidsOfOrganisation(bidIds: string, organisationId: string): string {
  return `SELECT b.id FROM bids b WHERE b.id = ANY (${bidIds}) AND b.organisation_id = ${organisationId}`;
}

/** The organisation (applicant) of the bid whose id is the expression `bidId`, as a scalar subquery. */
export function bidOrganisationOf(bidId: string): string {
  return `(SELECT b.organisation_id FROM bids b WHERE b.id = ${bidId})`;
}

/**
 * The public facts of an approved amendment (#25) for its register line: the bid's fixed facts, the
 * version's datasets and scope, and the agreement version offered with it. `$1`: bid id, `$2`: version.
 */
export const AMENDMENT_REGISTER_FACTS_SQL = `SELECT o.name AS organisation, o.kind AS organisation_kind, b.title, b.purpose,
              b.granted_tier AS tier, b.legal_basis, b.legal_basis_reference, v.datasets, v.scope,
              a.reference AS agreement_reference
         FROM bids b JOIN ${ORGANISATIONS_SOURCE} o ON o.id = b.organisation_id
         JOIN bid_versions v ON v.bid_id = b.id AND v.version = $2
         LEFT JOIN LATERAL (SELECT reference FROM agreements ag WHERE ag.bid_id = b.id AND ag.bid_version = $2
                             ORDER BY ag.version DESC LIMIT 1) a ON true
        WHERE b.id = $1`;
