import { AGREEMENTS_SOURCE, BID_EVENTS_SOURCE } from '@custodian/bids';
import { OBJECTION_REGISTER_SOURCE } from '@custodian/objections';
import { RELEASES_SOURCE } from '@custodian/release';

/**
 * The UTC instants the months `$1` to `$2` (dates, first of the month) span: read in UTC whatever
 * the session's time zone (a date cast to timestamptz is midnight in the session's zone).
 */
const BOUNDS = `SELECT ($1::date)::timestamp AT TIME ZONE 'UTC' AS lo,
                       (($2::date) + interval '1 month')::timestamp AT TIME ZONE 'UTC' AS hi`;

/** The calendar month (UTC) of an instant, as a date. */
const monthOf = (at: string) => `date_trunc('month', ${at} AT TIME ZONE 'UTC')::date`;

/**
 * The published statistics (#24), per calendar month (UTC) of the event counted: set-based over
 * bids' events, agreements and releases. `$1`/`$2`: the first and last month (dates).
 *
 * Each figure is grouped by month once and joined to the months: the cost is one pass over the
 * events whatever the number of months asked for. (It was a correlated subquery per month and
 * figure over every bid and event: a public request for 240 months over 22,000 requests took 18 s
 * of database time; probe 38.)
 */
export const MONTHS_SQL = `
WITH bounds AS (${BOUNDS}), months AS (
  SELECT m::date AS month FROM generate_series($1::date, $2::date, interval '1 month') m
), firsts AS (
  SELECT e.bid_id,
         min(e.at) FILTER (WHERE e.to_state = 'submitted') AS submitted,
         min(e.at) FILTER (WHERE e.from_state = 'submitted' AND e.to_state IN ('in_review', 'returned')) AS screened,
         min(e.at) FILTER (WHERE e.to_state IN ('approved', 'rejected')) AS decided
    FROM ${BID_EVENTS_SOURCE} e
   WHERE e.to_state IS NOT NULL
   GROUP BY e.bid_id
), released AS (
  SELECT a.agreed, r.first_release
    FROM (SELECT bid_id, min(accepted_at) AS agreed FROM ${AGREEMENTS_SOURCE} GROUP BY bid_id) a
    JOIN (SELECT bid_id, min(completed_at) AS first_release FROM ${RELEASES_SOURCE}
           WHERE state = 'completed' GROUP BY bid_id) r ON r.bid_id = a.bid_id
), received AS (
  SELECT ${monthOf('f.submitted')} AS month, count(*)::int AS n
    FROM firsts f, bounds WHERE f.submitted >= bounds.lo AND f.submitted < bounds.hi
   GROUP BY 1
), ev AS (
  SELECT ${monthOf('e.at')} AS month,
         count(*) FILTER (WHERE e.to_state IN ('approved', 'rejected')
                             OR (e.from_state = 'in_review' AND e.to_state = 'returned'))::int AS decided,
         count(*) FILTER (WHERE e.to_state = 'approved')::int AS approved,
         count(*) FILTER (WHERE e.to_state = 'rejected')::int AS rejected,
         count(*) FILTER (WHERE e.to_state = 'returned')::int AS returned
    FROM ${BID_EVENTS_SOURCE} e, bounds
   WHERE e.at >= bounds.lo AND e.at < bounds.hi AND e.to_state IS NOT NULL
   GROUP BY 1
), days AS (
  SELECT ${monthOf('screened')} AS month, 'screening' AS kind, extract(epoch FROM screened - submitted) / 86400 AS d
    FROM firsts, bounds WHERE screened >= bounds.lo AND screened < bounds.hi AND submitted IS NOT NULL
  UNION ALL
  SELECT ${monthOf('decided')}, 'decision', extract(epoch FROM decided - submitted) / 86400
    FROM firsts, bounds WHERE decided >= bounds.lo AND decided < bounds.hi AND submitted IS NOT NULL
  UNION ALL
  SELECT ${monthOf('first_release')}, 'first_release', extract(epoch FROM first_release - agreed) / 86400
    FROM released, bounds WHERE first_release >= bounds.lo AND first_release < bounds.hi AND agreed IS NOT NULL
), spans AS (
  SELECT month, kind,
         round(percentile_cont(0.5) WITHIN GROUP (ORDER BY d)::numeric, 1)::float8 AS median,
         round(percentile_cont(0.9) WITHIN GROUP (ORDER BY d)::numeric, 1)::float8 AS p90
    FROM days GROUP BY month, kind
)
SELECT to_char(m.month, 'YYYY-MM') AS month,
       coalesce(r.n, 0) AS received,
       coalesce(ev.decided, 0) AS decided, coalesce(ev.approved, 0) AS approved,
       coalesce(ev.rejected, 0) AS rejected, coalesce(ev.returned, 0) AS returned,
       ${['screening', 'decision', 'first_release']
         .map((k) => `${k}.median AS ${k}_median, ${k}.p90 AS ${k}_p90`)
         .join(',\n       ')}
  FROM months m
  LEFT JOIN received r ON r.month = m.month
  LEFT JOIN ev ON ev.month = m.month
  ${['screening', 'decision', 'first_release']
    .map((k) => `LEFT JOIN spans ${k} ON ${k}.month = m.month AND ${k}.kind = '${k}'`)
    .join('\n  ')}
 ORDER BY m.month`;

/** Completed releases per month, tier and legal basis; and each release's share removed by objections. */
export const RELEASES_SQL = `
SELECT to_char(date_trunc('month', r.completed_at AT TIME ZONE 'UTC'), 'YYYY-MM') AS month, r.id, r.tier, r.legal_basis,
       r.completed_at, r.excluded
  FROM ${RELEASES_SOURCE} r
 CROSS JOIN (${BOUNDS}) bounds
 WHERE r.state = 'completed' AND r.completed_at >= bounds.lo AND r.completed_at < bounds.hi
 ORDER BY r.completed_at, r.id`;

export const OBJECTIONS_IN_FORCE_SQL = `
SELECT count(*) FILTER (WHERE type = 'type1')::int AS type1, count(*) FILTER (WHERE type = 'type2')::int AS type2
  FROM ${OBJECTION_REGISTER_SOURCE} WHERE active`;
