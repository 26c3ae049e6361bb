import { shownCount } from './disclosure-control';
import { ReleaseFailure } from './engine/context';
import { RELEASE_FAILURES } from './release.errors';
import type { Cohort } from '@custodian/bids';
import type { ReleaseSpec } from './release.types';

/**
 * The record-level differencing guard (#27), in the release ledger (`release_ledger`, migration
 * 1764000023000). Two releases of one bid, before and after one patient's Type 2 objection,
 * differed by exactly that patient's rows: subtracting them said which record objected.
 *
 * Rule: a record-level release differs from the bid's last completed release by no persons or by
 * at least k (ANON_K) on each side.
 * - **Persons who left** (an objection — always honoured, the objector is never put back — or
 *   leaving the cohort): if 1 to k−1 left, further persons of the last release are withheld so
 *   that k leave. They are chosen by a keyed hash (HMAC under a key of the release, so neither the
 *   researcher nor the order of the data can tell them from the one who objected), and stay
 *   withheld in every later release of the bid (state `withheld`), else their return would point
 *   at the one who did not return.
 * - **Persons who joined** (new patients, a withdrawn objection): if 1 to k−1 are new, they are held
 *   back (not released, not recorded) until at least k are new.
 * Holding the whole release was the other choice: it would stop every update of the bid for as
 * long as fewer than k change, and a release is what an officer asked for. Withholding more
 * persons is always allowed (data minimisation), so the guard fails safe.
 *
 * It runs in the preparation's transaction, on the working set `rp` (persons, `excl` the reason
 * a person is left out), after objections and the cohort, before k-anonymity (so the classes are
 * counted without the withheld persons). It counts the persons the files show (`files <> 0`: some
 * row in the release's range), not every eligible patient: a bid whose event range leaves most of
 * its cohort without rows had its objector covered by persons who were in no file, and two
 * releases differed by the objector alone (an outsider's probe, 2026-12-07). The verifier holds
 * the ledger against the files (difference-check.ts). Set-based: a few statements over the persons, whatever
 * their number; the ledger holds each release's persons as arrays of NHS numbers (by state and
 * part, migration 1764000049000), written by one aggregate.
 */
export const GUARD = 'record_difference';
/** `rp.excl` of persons withheld by the guard (they count among persons left out, staff only). */
export const WITHHELD_FOR_DIFFERENCE = 'withheld_for_difference';
export const HELD_BACK_NEW = 'new_held_back_for_difference';

export interface DifferenceDecision {
  comparedWith: string | null;
  k: number;
  /** Persons of the last release not eligible now (objections, cohort), exact. */
  left: number;
  /** Further persons withheld now to cover them (exact). */
  withheldToCover: number;
  /** Persons withheld in earlier releases, still withheld (exact). */
  stillWithheld: number;
  /** New persons released (exact). */
  joined: number;
  /** New persons held back (exact). */
  heldBack: number;
  /**
   * The last release of each other bid of the organisation, compared the same way (an attacker's
   * probe: bid 1 before a Type 2 objection, bid 3 of the same spec after it, differed by the
   * objector alone), and the persons withheld or held back for them (exact). Absent before.
   */
  otherBids?: { compared: string[]; withheldToCover: number; heldBack: number };
}

type Q = <T = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<T[]>;

export async function guardDifference(
  q: Q,
  release: { id: string; bidId: string; organisationId: string },
  k: number,
  key: Buffer,
): Promise<DifferenceDecision> {
  await q(`DELETE FROM release_ledger_members WHERE release_id = $1`, [release.id]);
  await q(`DELETE FROM release_ledger WHERE release_id = $1 AND guard = $2`, [release.id, GUARD]);
  // The ledger keeps NHS numbers as numbers (migration 1764000049000; `rp.nk`, set by the person
  // table's statement), and the statements below compare them as such: one that is not ten digits (the loaders refuse such; only a damaged
  // database holds one) cannot be followed, so a record-level release stops here rather than
  // release persons the guard cannot follow. The reason names nobody.
  const [bad] = await q<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM rp WHERE nk IS NULL) AS any`);
  if (bad.any)
    throw new ReleaseFailure(
      RELEASE_FAILURES.RELEASE_DATA_DAMAGED,
      'a patient record holds an NHS number that is not ten digits; the data must be corrected before a record-level release',
    );
  const [prev] = await q<{ id: string }>(
    `SELECT r.id FROM releases r JOIN release_ledger l ON l.release_id = r.id AND l.guard = $3
      WHERE r.bid_id = $1 AND r.id <> $2 AND r.state = 'completed'
      ORDER BY r.completed_at DESC, r.id LIMIT 1`,
    [release.bidId, release.id, GUARD],
  );
  const decision: DifferenceDecision = {
    comparedWith: prev?.id ?? null,
    k,
    left: 0,
    withheldToCover: 0,
    stillWithheld: 0,
    joined: 0,
    heldBack: 0,
  };
  // This release's eligible persons as the ledger holds them (arrays by part), built once: compared
  // with the last release's arrays part by part, and written as they are. A million persons joined
  // row by row with the last release unnested, then sorted into arrays again, took 2.5 s of a 1M
  // release (docs/BENCHMARKS.md, "the ledger by parts"); this ~0.9 s.
  const current = () =>
    q(
      `CREATE TEMP TABLE rel_cur ON COMMIT DROP AS
       SELECT (nk % 64)::smallint AS part, array_agg(nk) AS nhs FROM rp WHERE excl IS NULL AND files <> 0 GROUP BY 1`,
    );
  let changed = false;
  // The releases (this bid's last, other bids') against which those who left were covered: they
  // are then withheld for good with their cover, should they come back (a withdrawn objection): of
  // the k who left together, the one back in a later release would be the objector (probe 33: R1
  // and R4 of one bid differed by the k−1 withheld alone).
  const coveredAgainst: string[] = [];
  if (prev) {
    // Withheld before: withheld still.
    const still = await q<{ n: number }>(
      `WITH u AS (UPDATE rp SET excl = $1 WHERE excl IS NULL AND nk IN ${ledgerIn('withheld', '$2')} RETURNING 1)
       SELECT count(*)::int AS n FROM u`,
      [WITHHELD_FOR_DIFFERENCE, prev.id],
    );
    decision.stillWithheld = still[0].n;
  }
  await current();
  if (prev) {
    // Both differences, part by part: released then and not eligible now; eligible now and not
    // released then (the last release's withheld who are still here were withheld just above).
    const [{ left, joined }] = await q<{ left: number; joined: number }>(DIFFERENCES, [prev.id]);
    decision.left = left;
    if (left > 0 && left < k) {
      const cover = await q<{ n: number }>(COVER, [WITHHELD_FOR_DIFFERENCE, key, k - left, prev.id]);
      decision.withheldToCover = cover[0].n;
      changed = cover[0].n > 0;
      coveredAgainst.push(prev.id);
    }
    if (joined > 0 && joined < k) {
      await q(holdBack('any'), [HELD_BACK_NEW, prev.id]);
      decision.heldBack = joined;
      changed = true;
    } else decision.joined = joined;
  }
  if (changed) {
    await q(`DROP TABLE rel_cur`);
    await current();
  }
  const others = await guardOtherBids(q, release, k, key, current, prev?.id, coveredAgainst);
  decision.withheldToCover += others.prevWithheld;
  decision.otherBids = others.out;
  // (A number an old ledger kept as negative — a damaged one, migration 1764000049000 — is in part
  // ((n % 64) + 64) % 64 as the migration put it: `%` alone gives a negative part, which the
  // table refuses; a review found every later release of such a bid failing.)
  // This release's ledger: whom it releases, whom it withholds, and — withheld persons no longer in
  // the cohort stay withheld should they come back — the last release's withheld who are not in
  // this one's working set as released or withheld, and those who left where they were covered
  // (released by a release of `coveredAgainst`, not released now). A person is in a release's
  // ledger once (UNION).
  await q(
    `INSERT INTO release_ledger_members (release_id, state, part, nhs)
     SELECT $1::uuid, 'released', part, nhs FROM rel_cur
     UNION ALL
     SELECT $1::uuid, 'withheld', (((x.nhs % 64) + 64) % 64)::smallint, array_agg(x.nhs)
       FROM (SELECT nk AS nhs FROM rp WHERE excl = $2
             ${
               prev
                 ? `UNION
             SELECT p.nhs FROM ${ledgerIn('withheld', '$3')} p
              WHERE NOT EXISTS (SELECT 1 FROM rp WHERE rp.nk = p.nhs AND (rp.excl IS NULL OR rp.excl = $2))`
                 : ''
             }
             UNION
             SELECT u.nhs FROM release_ledger_members m CROSS JOIN LATERAL unnest(m.nhs) AS u(nhs)
              WHERE m.release_id = ANY($${prev ? 4 : 3}::uuid[]) AND m.state = 'released'
                AND NOT EXISTS (SELECT 1 FROM rp WHERE rp.nk = u.nhs AND rp.excl IS NULL AND rp.files <> 0)) x
      GROUP BY ((x.nhs % 64) + 64) % 64`,
    prev
      ? [release.id, WITHHELD_FOR_DIFFERENCE, prev.id, coveredAgainst]
      : [release.id, WITHHELD_FOR_DIFFERENCE, coveredAgainst],
  );
  await q(`DROP TABLE rel_cur`);
  await q(
    `INSERT INTO release_ledger (release_id, guard, bid_id, organisation_id, compared_with, decision)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [release.id, GUARD, release.bidId, release.organisationId, prev?.id ?? null, JSON.stringify(decision)],
  );
  return decision;
}

/**
 * A release's persons in a state, unnested (a subquery of the statements below). `param`: the
 * placeholder of that release's id.
 */
const ledgerIn = (state: 'released' | 'withheld' | 'any', param: string) =>
  `(SELECT u.nhs FROM release_ledger_members m CROSS JOIN LATERAL unnest(m.nhs) AS u(nhs)
     WHERE m.release_id = ${param}::uuid${state === 'any' ? '' : ` AND m.state = '${state}'`})`;

/**
 * Withhold `$3` more persons of release `$4`'s released ones still in this working set, chosen by
 * HMAC(`$2`, NHS number), marking them `$1`; the count withheld.
 */
const COVER = `
  WITH pick AS (
    SELECT rp.nhs FROM rp WHERE rp.excl IS NULL AND rp.files <> 0 AND rp.nk IN ${ledgerIn('released', '$4')}
     ORDER BY hmac(convert_to(rp.nhs, 'UTF8'), $2::bytea, 'sha256') LIMIT $3),
  u AS (UPDATE rp SET excl = $1 WHERE nhs IN (SELECT nhs FROM pick) RETURNING 1)
  SELECT count(*)::int AS n FROM u`;

/** Hold back (mark `$1`) the persons of this working set not in release `$2`'s `state` ones; the count. */
const holdBack = (state: 'released' | 'any') => `
  WITH u AS (UPDATE rp SET excl = $1 WHERE excl IS NULL AND files <> 0 AND NOT rp.nk IN ${ledgerIn(state, '$2')} RETURNING 1)
  SELECT count(*)::int AS n FROM u`;

/** Released then and not now, and now and not then, against release `$1` (by the ledger's parts). */
const DIFFERENCES = `
  SELECT coalesce(sum((SELECT count(*) FROM (SELECT unnest(p.nhs) EXCEPT SELECT unnest(c.nhs)) d)), 0)::int AS left,
         coalesce(sum((SELECT count(*) FROM (SELECT unnest(c.nhs) EXCEPT SELECT unnest(p.nhs)) d)), 0)::int AS joined
    FROM rel_cur c
    FULL JOIN (SELECT part, nhs FROM release_ledger_members WHERE release_id = $1 AND state = 'released') p
      ON p.part = c.part`;

/** How a release's legal basis treats Type 2 objections: applied, overridden by a consent cohort, or not applied. */
const OBJECTION_POLICY = (r: string) =>
  `CASE ${r}.legal_basis WHEN 'statutory' THEN 'exempt' WHEN 'public_health_emergency' THEN 'exempt'
     WHEN 'consent' THEN 'consent' ELSE 'applied' END`;

/**
 * Releases `r` and `me` treat Type 2 objections alike (a statutory bid includes the objectors an
 * s251 bid leaves out, as SPEC §5 says; consent bids, each limited to its own cohort file, are not
 * compared), and `r` completed before `me` started — what the verifier compares with too.
 */
export const COMPARABLE_RELEASE = `${OBJECTION_POLICY('r')} = ${OBJECTION_POLICY('me')}
  AND ${OBJECTION_POLICY('me')} <> 'consent' AND r.completed_at < me.started_at`;

/**
 * The population a record-level release draws on, written one way: the cohort's lists deduplicated
 * and sorted (practices and areas in capitals), bounds that select everyone left out (an age range
 * of 0–130, the API's limits; event dates before 1900 or after 2099), and the datasets' names. Two
 * bids whose keys are equal release the same persons but for what changed in the data. A review
 * (2026-12-07) evaded a comparison of the cohort JSON as written by listing practices in another
 * order, or adding `ageMax: 130` or `eventsFrom: 1900-01-01`.
 */
export function populationKey(spec: { cohort?: Cohort; datasets: { dataset: string }[] }): string {
  const c = spec.cohort ?? {};
  const list = (a: string[] | undefined, upper: boolean) =>
    a?.length ? [...new Set(a.map((x) => (upper ? x.trim().toUpperCase() : x.trim())))].sort() : null;
  return JSON.stringify([
    list(c.practices, true),
    list(c.postcodeAreas, true),
    list(c.conditionCodes, false),
    c.eventsFrom && c.eventsFrom > '1900-01-01' ? c.eventsFrom : null,
    c.eventsTo && c.eventsTo < '2099-12-31' ? c.eventsTo : null,
    c.ageMin !== undefined && c.ageMin > 0 ? c.ageMin : null,
    c.ageMax !== undefined && c.ageMax < 130 ? c.ageMax : null,
    [...new Set(spec.datasets.map((d) => d.dataset))].sort(),
  ]);
}

/**
 * The same rule against the last release of each other bid of the organisation that draws on the
 * same population (`populationKey`, `COMPARABLE_RELEASE`), completed before this one started: two
 * bids of one specification, released before and after one patient's objection, differed by that
 * patient alone, and the guard compared each release with its own bid only (an attacker's probe,
 * 2026-12-07). Where 1 to k−1 persons of another bid's release are not in this one, more of them are
 * withheld (the keyed choice above) so that k are not; where 1 to k−1 persons are new against it,
 * they are held back. Withholding only ever grows, so the rounds end; they repeat until no release
 * compared differs by 1 to k−1 (withholding for one bid can bring another's difference into that
 * range). Where too few persons are left to withhold, the release is refused (staff read which
 * release). Cost: one comparison of the persons per such bid per round.
 *
 * Bids of other populations are not compared: their persons differ by what each asked for, often by
 * fewer than k, which no withholding could cover (tried: an organisation's narrow bids were refused
 * one after another). So cohorts that differ by a bound chosen to drop a few persons (`ageMax` 100
 * against 101) are not compared (docs/RELEASE.md, limits); the officer's screen lists the
 * organisation's other bids.
 */
async function guardOtherBids(
  q: Q,
  release: { id: string; bidId: string; organisationId: string },
  k: number,
  key: Buffer,
  current: () => Promise<unknown>,
  /** The bid's last release: compared again in every round (a person withheld for another bid was left out of it). */
  prevId: string | undefined,
  /** Releases against which those who left were covered (appended to). */
  coveredAgainst: string[],
): Promise<{ out: NonNullable<DifferenceDecision['otherBids']>; prevWithheld: number }> {
  const rows = await q<{ id: string; spec: ReleaseSpec; mine: ReleaseSpec; n: number }>(
    `SELECT DISTINCT ON (r.bid_id) r.id, r.spec, me.spec AS mine,
            (SELECT coalesce(sum(cardinality(m.nhs)), 0)::int FROM release_ledger_members m
              WHERE m.release_id = r.id AND m.state = 'released') AS n
       FROM releases r
       JOIN release_ledger l ON l.release_id = r.id AND l.guard = $3
       JOIN releases me ON me.id = $4
      WHERE l.organisation_id = $1 AND r.bid_id <> $2 AND r.state = 'completed'
        AND ${COMPARABLE_RELEASE}
      ORDER BY r.bid_id, r.completed_at DESC, r.id`,
    [release.organisationId, release.bidId, GUARD, release.id],
  );
  const [{ mine }] = await q<{ mine: number }>(
    `SELECT coalesce(sum(cardinality(nhs)), 0)::int AS mine FROM rel_cur`,
  );
  // Compared: the same population however written, and — whatever their cohorts — two releases of
  // 2k persons or more, which can always be made to differ by 0 or k (a probe, 2026-12-07: a cohort
  // change that selects nobody, such as a practice with no patients, escaped the key).
  const others = rows
    .filter((r) => populationKey(r.spec) === populationKey(r.mine) || (r.n >= 2 * k && mine >= 2 * k))
    .map((r) => r.id);
  const out = { compared: others.sort(), withheldToCover: 0, heldBack: 0 };
  let prevWithheld = 0;
  // The bid's own last release is compared again in each round: a person withheld to cover another
  // bid's release left it (probe 33: the release then failed its verification, 1 person gone).
  const compared = others.length && prevId ? [prevId, ...others] : others;
  for (let moved = others.length > 0; moved;) {
    moved = false;
    for (const other of compared) {
      const [{ left, joined }] = await q<{ left: number; joined: number }>(DIFFERENCES, [other]);
      let n = 0;
      if (left > 0 && left < k) {
        const [cover] = await q<{ n: number }>(COVER, [WITHHELD_FOR_DIFFERENCE, key, k - left, other]);
        n = cover.n;
        if (other === prevId) prevWithheld += n;
        else out.withheldToCover += n;
        if (!coveredAgainst.includes(other)) coveredAgainst.push(other);
      } else if (joined > 0 && joined < k) {
        const [held] = await q<{ n: number }>(holdBack('released'), [HELD_BACK_NEW, other]);
        out.heldBack += n = held.n;
      }
      if (n > 0) {
        moved = true;
        await q(`DROP TABLE rel_cur`);
        await current();
      }
    }
  }
  for (const other of compared) {
    const [{ left, joined }] = await q<{ left: number; joined: number }>(DIFFERENCES, [other]);
    if ((left > 0 && left < k) || (joined > 0 && joined < k))
      throw new ReleaseFailure(
        RELEASE_FAILURES.RELEASE_DIFFERENCE_UNCOVERABLE,
        `the release would differ from an earlier release to the organisation by fewer than k=${k} persons, and too few persons remain to withhold; the release officer can see which`,
        `the release would differ from release ${other} (${other === prevId ? 'the bid’s last release' : 'another bid of the organisation'}) by ${left} person(s) gone and ${joined} new, fewer than k=${k}, and too few of its persons remain to withhold`,
      );
  }
  return { out, prevWithheld };
}

/** What the manifest says (researchers read it: counts of persons by the aggregate rule). */
export function differencingManifest(d: DifferenceDecision) {
  return {
    rule: `a release differs from the bid's last release, and from the last release of each other bid of the organisation, by no persons or by at least k=${d.k}: if fewer than k left (objections are always honoured), further persons are withheld, for good, so that k leave; fewer than k new persons are held back until there are k`,
    k: d.k,
    comparedWith: d.comparedWith,
    otherBidsCompared: d.otherBids?.compared.length ?? 0,
    personsLeft: shownCount(d.left + d.withheldToCover),
    personsJoined: shownCount(d.joined),
    newPersonsHeldBack: d.heldBack > 0,
  };
}
