import type { VerifierDb } from './verifier-sql';

/**
 * The record-level differencing rule (#27), re-checked by the verifier with its own SQL (not the
 * guard's, `release-ledger.ts`): a record-level release differs from the bid's last completed
 * record-level release, and from the last of each other bid of the organisation, by no persons or
 * by at least k on each side — persons released then and not
 * now, persons released now and not then — and from every earlier completed record-level release
 * of the bid by no persons or at least k on the leaving side (fix 37: R1 and R4 of one bid differed
 * by k−1 while each pair of consecutive releases differed by 0 or k). Read from the release ledger (`release_ledger_members`:
 * arrays of NHS numbers by state), where each release records whom it released and whom it withheld; a release with a predecessor
 * and no ledger of its own did not run the guard, and fails.
 *
 * Returns what is wrong (counts in the message are exact: the verifier's messages reach officers
 * only), or undefined.
 */
/**
 * The verifier's own reading of "comparable" (not the guard's SQL): a legal basis that treats Type 2
 * objections alike (statutory and public health emergency do not apply them; consent bids, each
 * limited to its own cohort file, are not compared; the others apply them), completed before this
 * release started.
 */
const BASIS = (x: string) =>
  `(CASE WHEN ${x}.legal_basis IN ('statutory', 'public_health_emergency') THEN 0 WHEN ${x}.legal_basis = 'consent' THEN 1 ELSE 2 END)`;
const COMPARABLE = `${BASIS('r')} = ${BASIS('me')} AND ${BASIS('me')} <> 1 AND r.completed_at < me.started_at`;

interface SpecShape {
  cohort?: Record<string, unknown>;
  datasets?: { dataset: string }[];
}

/**
 * The verifier's own "same population": the datasets' names, and the cohort's filters that select
 * someone out — lists as sets (practices and areas in any case), an age bound inside 0–130, an
 * event bound inside 1900–2099.
 */
function samePopulation(a: SpecShape, b: SpecShape): boolean {
  const of = (x: SpecShape) => {
    const c = x.cohort ?? {};
    const set = (v: unknown, fold: boolean) =>
      Array.isArray(v) && v.length
        ? Array.from(new Set(v.map((e) => (fold ? String(e).trim().toUpperCase() : String(e).trim()))))
            .sort()
            .join('|')
        : '';
    const num = (v: unknown, none: (n: number) => boolean) =>
      typeof v === 'number' && !none(v) ? String(v) : '';
    const day = (v: unknown, none: (d: string) => boolean) => (typeof v === 'string' && !none(v) ? v : '');
    return [
      set(c.practices, true),
      set(c.postcodeAreas, true),
      set(c.conditionCodes, false),
      day(c.eventsFrom, (d) => d <= '1900-01-01'),
      day(c.eventsTo, (d) => d >= '2099-12-31'),
      num(c.ageMin, (n) => n <= 0),
      num(c.ageMax, (n) => n >= 130),
      set(
        (x.datasets ?? []).map((d) => d.dataset),
        false,
      ),
    ].join('#');
  };
  return of(a) === of(b);
}

export async function differenceProblem(
  db: VerifierDb,
  release: { id: string; bidId: string },
  k: number,
): Promise<{ problem?: string; comparedWith?: string; earlier?: number }> {
  // The bid's completed releases that ran the guard (a release of no persons ran it too and holds
  // no sets), the last first; ties broken as the guard breaks them (a review, 2026-12-06: the two
  // could compare with different releases).
  const ranGuard = `EXISTS (SELECT 1 FROM release_ledger g WHERE g.release_id = r.id AND g.guard = 'record_difference')`;
  const [prev, ...before] = (await db.query(
    `SELECT r.id FROM releases r
      WHERE r.bid_id = $1 AND r.id <> $2 AND r.state = 'completed' AND ${ranGuard}
      ORDER BY r.completed_at DESC, r.id`,
    [release.bidId, release.id],
  )) as { id: string }[];
  // And the last such release of each other bid of the release's organisation, whatever its cohort
  // (the recipient
  // organisation its ledger names; an attacker's probe, 2026-12-07: two bids of one specification,
  // before and after one objection, differed by the objector alone), completed before this release
  // started (a later one is checked against this one when it is made). A release without a ledger
  // has no organisation here: it fails below if its bid has an earlier release.
  const candidates = (await db.query(
    `SELECT DISTINCT ON (r.bid_id) r.id, r.spec, me.spec AS mine,
            (SELECT coalesce(sum(cardinality(x.nhs)), 0)::int FROM release_ledger_members x
              WHERE x.release_id = r.id AND x.state = 'released') AS n
       FROM releases r
       JOIN release_ledger g ON g.release_id = r.id AND g.guard = 'record_difference'
       JOIN releases me ON me.id = $2
      WHERE g.organisation_id = (SELECT organisation_id FROM release_ledger
                                  WHERE release_id = $2 AND guard = 'record_difference')
        AND r.bid_id <> $1 AND r.state = 'completed' AND ${COMPARABLE}
      ORDER BY r.bid_id, r.completed_at DESC, r.id`,
    [release.bidId, release.id],
  )) as { id: string; spec: SpecShape; mine: SpecShape; n: number }[];
  const [{ mine }] = (await db.query(
    `SELECT coalesce(sum(cardinality(nhs)), 0)::int AS mine FROM release_ledger_members
      WHERE release_id = $1 AND state = 'released'`,
    [release.id],
  )) as { mine: number }[];
  // The same population, or any two releases of 2k persons or more (which the guard can always cover).
  const others = candidates.filter((c) => samePopulation(c.spec, c.mine) || (c.n >= 2 * k && mine >= 2 * k));
  if (!prev && !others.length) return {};
  const [own] = (await db.query(`SELECT ${ranGuard} AS ran FROM releases r WHERE r.id = $1`, [
    release.id,
  ])) as {
    ran: boolean;
  }[];
  if (!own?.ran)
    return {
      comparedWith: prev?.id,
      problem:
        'the organisation has an earlier record-level release and this one recorded no differencing ledger',
    };
  // The bid's releases before its last, the leaving side: persons each released and this one did
  // not, all in one statement, each release's parts against this one's.
  const gone = before.length
    ? ((await db.query(
        `SELECT t.release_id::text AS id,
                coalesce(sum((SELECT count(*) FROM (SELECT unnest(t.nhs) EXCEPT SELECT unnest(n.nhs)) d)), 0)::int AS n
           FROM release_ledger_members t
           LEFT JOIN release_ledger_members n ON n.release_id = $1 AND n.state = 'released' AND n.part = t.part
          WHERE t.release_id = ANY($2::uuid[]) AND t.state = 'released'
          GROUP BY t.release_id`,
        [release.id, before.map((b) => b.id)],
      )) as { id: string; n: number }[])
    : [];
  for (const [earlier, whose] of [
    ...(prev ? [[prev.id, "the bid's earlier release"] as const] : []),
    ...before.map((b) => [b.id, `release ${b.id}, an earlier release of the bid`] as const),
    ...others.map((o) => [o.id, `release ${o.id} of another bid of the organisation`] as const),
  ]) {
    const since = gone.find((g) => g.id === earlier);
    if (before.some((b) => b.id === earlier)) {
      if (since && since.n > 0 && since.n < k)
        return {
          comparedWith: prev?.id,
          problem: `${since.n} persons of the earlier release left since ${whose}: a difference of 1 to ${k - 1} persons singles them out`,
        };
      continue;
    }
    // The two releases' released sets compared part by part (the ledger's arrays by NHS number mod
    // 64): hash sets of ~15k numbers rather than one join of a million (0.85 s at 1M, spilling out
    // of work_mem). A number stored in the wrong part can only count as a difference on both sides,
    // never hide one.
    const [counts] = (await db.query(
      `SELECT coalesce(sum((SELECT count(*) FROM (SELECT unnest(t.nhs) EXCEPT SELECT unnest(n.nhs)) d)), 0)::int AS left_,
              coalesce(sum((SELECT count(*) FROM (SELECT unnest(n.nhs) EXCEPT SELECT unnest(t.nhs)) d)), 0)::int AS joined
         FROM (SELECT part, nhs FROM release_ledger_members WHERE release_id = $1 AND state = 'released') n
         FULL JOIN (SELECT part, nhs FROM release_ledger_members WHERE release_id = $2 AND state = 'released') t
           ON t.part = n.part`,
      [release.id, earlier],
    )) as { left_: number; joined: number }[];
    for (const [n, what] of [
      [counts.left_, 'persons of the earlier release left'],
      [counts.joined, 'persons joined'],
    ] as const)
      if (n > 0 && n < k)
        return {
          comparedWith: prev?.id,
          problem: `${n} ${what} since ${whose}: a difference of 1 to ${k - 1} persons singles them out`,
        };
  }
  return { comparedWith: prev?.id, earlier: before.length };
}

/**
 * Whether the release's ledger holds the persons its files show (pseudonymised and identifiable
 * tiers, where a person keeps one identifier across a release's files and nothing is suppressed
 * after the guard): the ledger's released count must lie between the most persons of one file and
 * the sum over the files — a ledger of every eligible patient, most in no file, compared releases
 * by persons the researcher never saw (an outsider's probe, 2026-12-07). `persons`: each data
 * file's distinct persons, read by the verifier. Undefined where the release ran no guard.
 */
export async function ledgerFilesProblem(
  db: VerifierDb,
  releaseId: string,
  persons: number[],
): Promise<string | undefined> {
  const [row] = (await db.query(
    `SELECT EXISTS (SELECT 1 FROM release_ledger g WHERE g.release_id = $1 AND g.guard = 'record_difference') AS ran,
            (SELECT coalesce(sum(cardinality(nhs)), 0)::int FROM release_ledger_members
              WHERE release_id = $1 AND state = 'released') AS released`,
    [releaseId],
  )) as { ran: boolean; released: number }[];
  if (!row?.ran) return undefined;
  const most = Math.max(0, ...persons);
  const all = persons.reduce((a, b) => a + b, 0);
  if (row.released < most || row.released > all)
    return `the differencing ledger records ${row.released} persons released; the files show between ${most} and ${all}`;
  return undefined;
}
