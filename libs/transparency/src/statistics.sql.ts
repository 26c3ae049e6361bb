import { AGREEMENTS_SOURCE, BID_EVENTS_SOURCE, BIDS_SOURCE } from '@custodian/bids';
import { OBJECTION_REGISTER_SOURCE } from '@custodian/objections';
import { RELEASES_SOURCE } from '@custodian/release';

/**
 * The published statistics (#24), per calendar month (UTC) of the event counted: set-based over
 * bids, their events, agreements and releases. `$1`/`$2`: the first and last month (dates).
 */
export const MONTHS_SQL = `
WITH months AS (
  SELECT m::date AS month FROM generate_series($1::date, $2::date, interval '1 month') m
), firsts AS (
  SELECT b.id,
         (SELECT min(e.at) FROM ${BID_EVENTS_SOURCE} e WHERE e.bid_id = b.id AND e.to_state = 'submitted') AS submitted,
         (SELECT min(e.at) FROM ${BID_EVENTS_SOURCE} e
           WHERE e.bid_id = b.id AND e.from_state = 'submitted' AND e.to_state IN ('in_review', 'returned')) AS screened,
         (SELECT min(e.at) FROM ${BID_EVENTS_SOURCE} e WHERE e.bid_id = b.id AND e.to_state IN ('approved', 'rejected')) AS decided,
         (SELECT min(a.accepted_at) FROM ${AGREEMENTS_SOURCE} a WHERE a.bid_id = b.id) AS agreed,
         (SELECT min(r.completed_at) FROM ${RELEASES_SOURCE} r WHERE r.bid_id = b.id AND r.state = 'completed') AS first_release
    FROM ${BIDS_SOURCE} b
), ev AS (
  SELECT date_trunc('month', e.at AT TIME ZONE 'UTC')::date AS month, e.from_state, e.to_state FROM ${BID_EVENTS_SOURCE} e
   WHERE e.at >= $1::date AND e.at < $2::date + interval '1 month'
), days AS (
  SELECT date_trunc('month', screened AT TIME ZONE 'UTC')::date AS month, 'screening' AS kind,
         extract(epoch FROM screened - submitted) / 86400 AS d FROM firsts WHERE screened IS NOT NULL AND submitted IS NOT NULL
  UNION ALL
  SELECT date_trunc('month', decided AT TIME ZONE 'UTC')::date, 'decision',
         extract(epoch FROM decided - submitted) / 86400 FROM firsts WHERE decided IS NOT NULL AND submitted IS NOT NULL
  UNION ALL
  SELECT date_trunc('month', first_release AT TIME ZONE 'UTC')::date, 'first_release',
         extract(epoch FROM first_release - agreed) / 86400 FROM firsts WHERE first_release IS NOT NULL AND agreed IS NOT NULL
)
SELECT to_char(m.month, 'YYYY-MM') AS month,
       (SELECT count(*) FROM firsts f WHERE date_trunc('month', f.submitted AT TIME ZONE 'UTC')::date = m.month)::int AS received,
       (SELECT count(*) FROM ev WHERE ev.month = m.month AND (ev.to_state IN ('approved', 'rejected')
                                                             OR (ev.from_state = 'in_review' AND ev.to_state = 'returned')))::int AS decided,
       (SELECT count(*) FROM ev WHERE ev.month = m.month AND ev.to_state = 'approved')::int AS approved,
       (SELECT count(*) FROM ev WHERE ev.month = m.month AND ev.to_state = 'rejected')::int AS rejected,
       (SELECT count(*) FROM ev WHERE ev.month = m.month AND ev.to_state = 'returned')::int AS returned,
       ${['screening', 'decision', 'first_release']
         .map(
           (k) => `(SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY d)::numeric, 1)::float8 FROM days
                     WHERE days.month = m.month AND kind = '${k}') AS ${k}_median,
                   (SELECT round(percentile_cont(0.9) WITHIN GROUP (ORDER BY d)::numeric, 1)::float8 FROM days
                     WHERE days.month = m.month AND kind = '${k}') AS ${k}_p90`,
         )
         .join(',\n       ')}
  FROM months m ORDER BY m.month`;

/** Completed releases per month, tier and legal basis; and each release's share removed by objections. */
export const RELEASES_SQL = `
SELECT to_char(date_trunc('month', r.completed_at AT TIME ZONE 'UTC'), 'YYYY-MM') AS month, r.id, r.tier, r.legal_basis,
       r.completed_at, r.excluded
  FROM ${RELEASES_SOURCE} r
 WHERE r.state = 'completed' AND r.completed_at >= $1::date AND r.completed_at < $2::date + interval '1 month'
 ORDER BY r.completed_at, r.id`;

export const OBJECTIONS_IN_FORCE_SQL = `
SELECT count(*) FILTER (WHERE type = 'type1')::int AS type1, count(*) FILTER (WHERE type = 'type2')::int AS type2
  FROM ${OBJECTION_REGISTER_SOURCE} WHERE active`;
