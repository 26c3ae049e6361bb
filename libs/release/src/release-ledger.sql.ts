/**
 * The record-level differencing guard's statements (release-ledger.ts), over the release ledger
 * (`release_ledger_members`: per release, state and part — the NHS number modulo 64 — one array of
 * NHS numbers, migration 1764000049000) and the preparation's working set: `rp` (persons, `excl`
 * the reason one is left out, `nk` the NHS number as a number, `files <> 0` some row in a file) and
 * `rel_cur` (this release's eligible persons, arrays by part, as the ledger holds them). Set-based:
 * persons are compared part by part (hash sets of ~15k numbers at 1M), never one by one.
 */

/**
 * A release's persons in a state, unnested (a subquery of the statements below). `param`: the
 * placeholder of that release's id.
 */
export const ledgerIn = (state: 'released' | 'withheld' | 'any', param: string) =>
  `(SELECT u.nhs FROM release_ledger_members m CROSS JOIN LATERAL unnest(m.nhs) AS u(nhs)
     WHERE m.release_id = ${param}::uuid${state === 'any' ? '' : ` AND m.state = '${state}'`})`;

/**
 * Mark `$1` the working set's persons withheld by the bid's last release (`$2`): covers, and
 * whoever left a release of the bid (fix 37); the count.
 */
export const STILL_WITHHELD = `
  WITH u AS (UPDATE rp SET excl = $1 WHERE excl IS NULL AND nk IN ${ledgerIn('withheld', '$2')} RETURNING 1)
  SELECT count(*)::int AS n FROM u`;

/** This release's eligible persons (`rel_cur`), by the ledger's parts. */
export const CURRENT = `
  CREATE TEMP TABLE rel_cur ON COMMIT DROP AS
  SELECT (nk % 64)::smallint AS part, array_agg(nk) AS nhs FROM rp WHERE excl IS NULL AND files <> 0 GROUP BY 1`;

/**
 * The bid's (`$1`) completed releases that ran the guard (`$3`), but this one (`$2`), the last
 * first (ties broken by id, as the verifier breaks them).
 */
export const OWN_RELEASES = `
  SELECT r.id FROM releases r JOIN release_ledger l ON l.release_id = r.id AND l.guard = $3
   WHERE r.bid_id = $1 AND r.id <> $2 AND r.state = 'completed'
   ORDER BY r.completed_at DESC, r.id`;

/**
 * Withhold `$3` more persons of release `$4`'s released ones still in this working set, chosen by
 * HMAC(`$2`, NHS number), marking them `$1`; the count withheld.
 */
export const COVER = `
  WITH pick AS (
    SELECT rp.nhs FROM rp WHERE rp.excl IS NULL AND rp.files <> 0 AND rp.nk IN ${ledgerIn('released', '$4')}
     ORDER BY hmac(convert_to(rp.nhs, 'UTF8'), $2::bytea, 'sha256') LIMIT $3),
  u AS (UPDATE rp SET excl = $1 WHERE nhs IN (SELECT nhs FROM pick) RETURNING 1)
  SELECT count(*)::int AS n FROM u`;

/** Hold back (mark `$1`) the persons of this working set not in release `$2`'s `state` ones; the count. */
export const holdBack = (state: 'released' | 'any') => `
  WITH u AS (UPDATE rp SET excl = $1 WHERE excl IS NULL AND files <> 0 AND NOT rp.nk IN ${ledgerIn(state, '$2')} RETURNING 1)
  SELECT count(*)::int AS n FROM u`;

/** Released then and not now, and now and not then, against release `$1` (by the ledger's parts). */
export const DIFFERENCES = `
  SELECT coalesce(sum((SELECT count(*) FROM (SELECT unnest(p.nhs) EXCEPT SELECT unnest(c.nhs)) d)), 0)::int AS left,
         coalesce(sum((SELECT count(*) FROM (SELECT unnest(c.nhs) EXCEPT SELECT unnest(p.nhs)) d)), 0)::int AS joined
    FROM rel_cur c
    FULL JOIN (SELECT part, nhs FROM release_ledger_members WHERE release_id = $1 AND state = 'released') p
      ON p.part = c.part`;

/**
 * Released by each of releases `$1` and not eligible now (the leaving side alone), one row per
 * release with any persons: every earlier release of the bid in one statement, each release's
 * parts against this one's (~0.25 s per earlier release of 1M persons on the 2-vCPU machine,
 * docs/BENCHMARKS.md).
 */
export const LEFT_SINCE = `
  SELECT p.release_id::text AS id,
         coalesce(sum((SELECT count(*) FROM (SELECT unnest(p.nhs) EXCEPT SELECT unnest(c.nhs)) d)), 0)::int AS left
    FROM release_ledger_members p LEFT JOIN rel_cur c ON c.part = p.part
   WHERE p.release_id = ANY($1::uuid[]) AND p.state = 'released'
   GROUP BY p.release_id`;

/**
 * This release's (`$1`) ledger: whom it releases (`rel_cur`), and whom it withholds — every person
 * of the bid's last release (`$3`, released or withheld then) and of the releases against which
 * leavers were covered (`$4`, released then) who is not released now, and the working set's
 * persons withheld now (`$2`). So a person who leaves a release of the bid, for whatever reason,
 * stays withheld in every later release of it, and each person is in a release's ledger once
 * (EXCEPT). Part by part: a person's part is where the ledger keeps them (a number an old ledger
 * kept as negative — a damaged one, migration 1764000049000 — in ((n % 64) + 64) % 64).
 */
export const WRITE_LEDGER = `
  WITH held AS (
    SELECT (((nk % 64) + 64) % 64)::smallint AS part, array_agg(nk) AS nhs FROM rp WHERE excl = $2 GROUP BY 1)
  INSERT INTO release_ledger_members (release_id, state, part, nhs)
  SELECT $1::uuid, 'released', part, nhs FROM rel_cur
  UNION ALL
  SELECT $1::uuid, 'withheld', g.part, w.nhs
    FROM generate_series(0, 63) AS g(part)
    LEFT JOIN rel_cur c ON c.part = g.part
    LEFT JOIN held h ON h.part = g.part
    CROSS JOIN LATERAL (
      SELECT array_agg(d.n) AS nhs FROM (
        SELECT u.n FROM release_ledger_members m CROSS JOIN LATERAL unnest(m.nhs) AS u(n)
         WHERE m.part = g.part
           AND (m.release_id = $3::uuid OR (m.release_id = ANY($4::uuid[]) AND m.state = 'released'))
        UNION ALL SELECT unnest(h.nhs)
        EXCEPT SELECT unnest(c.nhs)) d(n)) w
   WHERE w.nhs IS NOT NULL`;
