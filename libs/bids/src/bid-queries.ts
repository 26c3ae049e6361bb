/**
 * Named queries of the bids library for other libraries (STYLE 13): `bids`, `agreements` and
 * `bid_cohort_members` are this library's tables; a reader elsewhere imports one of these, so the
 * import graph shows the dependency. Each is SQL text over fixed names; values are bound parameters
 * or the SQL expression the caller names.
 */

/** A bid as reviewers may see it (it has left draft): `id, state, organisation_id`. `$1`: the bid id. */
export const REVIEWER_BID_SQL = `SELECT id, state, organisation_id FROM bids WHERE id = $1 AND state <> 'draft'`;

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

/** The organisation (applicant) of the bid whose id is the expression `bidId`, as a scalar subquery. */
export function bidOrganisationOf(bidId: string): string {
  return `(SELECT b.organisation_id FROM bids b WHERE b.id = ${bidId})`;
}
