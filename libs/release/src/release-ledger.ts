import { shownCount } from './disclosure-control';
import { ReleaseFailure } from './engine/context';
import { RELEASE_FAILURES } from './release.errors';
import type { Cohort } from '@custodian/bids';
import type { ReleaseSpec } from './release.types';
import {
  COVER,
  CURRENT,
  DIFFERENCES,
  holdBack,
  LEFT_SINCE,
  OWN_RELEASES,
  STILL_WITHHELD,
  WRITE_LEDGER,
} from './release-ledger.sql';

/**
 * The record-level differencing guard (#27), in the release ledger (`release_ledger`, migration
 * 1764000023000). Two releases of one bid, before and after one patient's Type 2 objection,
 * differed by exactly that patient's rows: subtracting them said which record objected.
 *
 * Rule (fail closed, fix 37): a record-level release differs from the bid's last completed release
 * by no persons or by at least k (ANON_K) on each side, and from EVERY earlier completed release of
 * the bid by no persons or by at least k on the leaving side (persons of Ri not in this one). The
 * last alone was not enough: k objectors left together (no cover), one withdrew and came back once
 * k new persons joined, and R1 and R4 differed by k−1 — the one back singled out (probe 33); or a
 * group of k leavers, part of whom had joined after R1, left R1 short by fewer than k.
 * - **Persons who left** (an objection — always honoured, the objector is never put back — or
 *   leaving the cohort): if 1 to k−1 left, further persons of the release compared are withheld so
 *   that k leave. They are chosen by a keyed hash (HMAC under a key of the release, so neither the
 *   researcher nor the order of the data can tell them from the one who objected).
 * - **Withheld for good**: whoever leaves a release of the bid — an objector, a person who left
 *   the cohort, a cover — is recorded `withheld` and stays out of every later release of the bid,
 *   even if eligible again (a withdrawn objection): their return would point at them, or at the
 *   one of their group who did not return. A patient re-admitted to one bid's data later is a small
 *   loss; singling out an objector is not. (Before fix 37 only covered leavers stayed out.)
 * - **Persons who joined** (new patients): if 1 to k−1 are new against the last release, they are
 *   held back (not released, not recorded) until at least k are new.
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
 * the ledger against the files (difference-check.ts). Set-based (release-ledger.sql.ts): a few
 * statements over the persons, whatever their number; the ledger holds each release's persons as
 * arrays of NHS numbers (by state and part, migration 1764000049000). Cost: one comparison of the
 * persons per earlier release of the bid (~0.25 s per 1M-person release, docs/BENCHMARKS.md).
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
  /**
   * The bid's releases before its last, compared on the leaving side (fix 37: one of k who left
   * together came back alone, and R1 and R4 differed by k−1), and the persons withheld for them
   * (exact). Absent before.
   */
  earlier?: { compared: number; withheldToCover: number };
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
  // The bid's earlier releases, the last first: the last compared on both sides, every earlier one
  // on the leaving side (#27, fix 37).
  const [prev, ...before] = await q<{ id: string }>(OWN_RELEASES, [release.bidId, release.id, GUARD]);
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
  const current = () => q(CURRENT);
  let changed = false;
  // The releases (another bid's, or an earlier one of this bid's) against which those who left were
  // covered: their leavers are withheld for good with their cover (probe 33). (Those who leave the
  // bid's last release are withheld for good whatever the reason: WRITE_LEDGER.)
  const coveredAgainst: string[] = [];
  if (prev) {
    // Withheld before (covers, and everyone who ever left a release of the bid): withheld still.
    // (Histories written before fix 37 had only covered leavers here: migration 1764000064000 added
    // the others to each bid's last release once.)
    const still = await q<{ n: number }>(STILL_WITHHELD, [WITHHELD_FOR_DIFFERENCE, prev.id]);
    decision.stillWithheld = still[0].n;
  }
  await current();
  // Covered short of k against the last release (too few of its persons left to withhold).
  let short: Short | undefined;
  if (prev) {
    // Both differences, part by part: released then and not eligible now; eligible now and not
    // released then (the last release's withheld who are still here were withheld just above).
    const [{ left, joined }] = await q<{ left: number; joined: number }>(DIFFERENCES, [prev.id]);
    decision.left = left;
    if (left > 0 && left < k) {
      const cover = await q<{ n: number }>(COVER, [WITHHELD_FOR_DIFFERENCE, key, k - left, prev.id]);
      decision.withheldToCover = cover[0].n;
      changed = cover[0].n > 0;
      if (left + cover[0].n < k)
        short = { id: prev.id, whose: 'the bid’s last release', left: left + cover[0].n };
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
  const others = await otherBidsCompared(q, release, k);
  decision.otherBids = { compared: [...others].sort(), withheldToCover: 0, heldBack: 0 };
  decision.earlier = { compared: before.length, withheldToCover: 0 };
  await compareRounds(q, {
    k,
    key,
    current,
    prevId: prev?.id,
    others,
    before: before.map((r) => r.id),
    coveredAgainst,
    tally: { last: decision, otherBids: decision.otherBids, earlier: decision.earlier },
    short,
  });
  await q(WRITE_LEDGER, [release.id, WITHHELD_FOR_DIFFERENCE, prev?.id ?? null, coveredAgainst]);
  await q(`DROP TABLE rel_cur`);
  await q(
    `INSERT INTO release_ledger (release_id, guard, bid_id, organisation_id, compared_with, decision)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [release.id, GUARD, release.bidId, release.organisationId, prev?.id ?? null, JSON.stringify(decision)],
  );
  return decision;
}

/** A release compared with which the working set still differs by 1 to k−1 persons gone, and nothing was left to withhold. */
interface Short {
  id: string;
  whose: string;
  left: number;
  joined?: number;
}

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
 * The last release of each other bid of the organisation that draws on the same population
 * (`populationKey`, `COMPARABLE_RELEASE`), completed before this one started: two bids of one
 * specification, released before and after one patient's objection, differed by that patient
 * alone, and the guard compared each release with its own bid only (an attacker's probe,
 * 2026-12-07). They are compared on both sides (`compareRounds`).
 *
 * Bids of other populations are not compared: their persons differ by what each asked for, often by
 * fewer than k, which no withholding could cover (tried: an organisation's narrow bids were refused
 * one after another). So cohorts that differ by a bound chosen to drop a few persons (`ageMax` 100
 * against 101) are not compared (docs/RELEASE.md, limits); the officer's screen lists the
 * organisation's other bids.
 */
async function otherBidsCompared(
  q: Q,
  release: { id: string; bidId: string; organisationId: string },
  k: number,
): Promise<string[]> {
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
  return rows
    .filter((r) => populationKey(r.spec) === populationKey(r.mine) || (r.n >= 2 * k && mine >= 2 * k))
    .map((r) => r.id);
}

/**
 * The rule against every release compared, after the last release's first comparison: the other
 * bids' last releases and (again, from the second round) the bid's last release on both sides, and
 * every earlier release of the bid on the leaving side (all in one statement a round, `LEFT_SINCE`:
 * persons who left the bid uncovered, or a group of leavers part of whom had joined after an earlier
 * release, made an earlier release differ from this one by 1 to k−1 while the last differed by 0 or
 * k — fix 37). Where 1 to k−1 persons of a release compared are not in this one, more of them are
 * withheld (the keyed choice) so that k are not; where 1 to k−1 persons are new against a release
 * compared on both sides, they are held back. Withholding only ever grows, so the rounds end; they
 * repeat until no release compared differs by 1 to k−1 (withholding for one can bring another's
 * difference into that range). Where too few persons are left to withhold, the release is refused
 * (staff read which release). Cost: one comparison of the persons per release compared per round
 * (a round more only where something was withheld).
 */
async function compareRounds(
  q: Q,
  o: {
    k: number;
    key: Buffer;
    current: () => Promise<unknown>;
    prevId: string | undefined;
    others: string[];
    before: string[];
    /** Releases against which those who left were covered (appended to). */
    coveredAgainst: string[];
    /** Where the persons withheld and held back are counted. */
    tally: {
      last: DifferenceDecision;
      otherBids: NonNullable<DifferenceDecision['otherBids']>;
      earlier: NonNullable<DifferenceDecision['earlier']>;
    };
    /** The last release's first comparison left it short of k (nothing to withhold). */
    short: Short | undefined;
  },
): Promise<void> {
  const { k, key, prevId, tally } = o;
  const both = prevId ? [prevId, ...o.others] : o.others;
  const cover = async (id: string, left: number) => {
    const [{ n }] = await q<{ n: number }>(COVER, [WITHHELD_FOR_DIFFERENCE, key, k - left, id]);
    if (!o.coveredAgainst.includes(id) && id !== prevId) o.coveredAgainst.push(id);
    if (id === prevId) tally.last.withheldToCover += n;
    else if (o.before.includes(id)) tally.earlier.withheldToCover += n;
    else tally.otherBids.withheldToCover += n;
    return n;
  };
  let short = o.short;
  for (let round = 0; o.others.length + o.before.length > 0; round++) {
    let moved = false;
    short = round === 0 ? o.short : undefined;
    for (const id of both) {
      // The last release was compared just before the first round.
      if (id === prevId && round === 0) continue;
      const [{ left, joined }] = await q<{ left: number; joined: number }>(DIFFERENCES, [id]);
      let n = 0;
      if (left > 0 && left < k) n = await cover(id, left);
      else if (joined > 0 && joined < k) {
        const [held] = await q<{ n: number }>(holdBack('released'), [HELD_BACK_NEW, id]);
        tally.otherBids.heldBack += n = held.n;
      }
      const whose = id === prevId ? 'the bid’s last release' : 'another bid of the organisation';
      if (n > 0) {
        moved = true;
        await q(`DROP TABLE rel_cur`);
        await o.current();
      } else if ((left > 0 && left < k) || (joined > 0 && joined < k)) short ??= { id, whose, left, joined };
    }
    if (o.before.length) {
      const counts = await q<{ id: string; left: number }>(LEFT_SINCE, [o.before]);
      // In the bid's order (the latest first): the first that withholding can still cover.
      for (const id of o.before) {
        const left = counts.find((c) => c.id === id)?.left ?? 0;
        if (left === 0 || left >= k) continue;
        if ((await cover(id, left)) > 0) {
          moved = true;
          await q(`DROP TABLE rel_cur`);
          await o.current();
          break;
        }
        short ??= { id, whose: 'an earlier release of the bid', left };
      }
    }
    if (!moved) break;
  }
  if (short)
    throw new ReleaseFailure(
      RELEASE_FAILURES.RELEASE_DIFFERENCE_UNCOVERABLE,
      `the release would differ from an earlier release to the organisation by fewer than k=${k} persons, and too few persons remain to withhold; the release officer can see which`,
      `the release would differ from release ${short.id} (${short.whose}) by ${short.left} person(s) gone${
        short.joined === undefined ? '' : ` and ${short.joined} new`
      }, fewer than k=${k}, and too few of its persons remain to withhold`,
    );
}

/** What the manifest says (researchers read it: counts of persons by the aggregate rule). */
export function differencingManifest(d: DifferenceDecision) {
  return {
    rule: `a release differs from the bid's last release, and from the last release of each other bid of the organisation, by no persons or by at least k=${d.k}, and from every earlier release of the bid by no persons or at least k on the leaving side: if fewer than k left (objections are always honoured), further persons are withheld so that k leave; whoever leaves a release of the bid stays withheld in its later releases; fewer than k new persons are held back until there are k`,
    k: d.k,
    comparedWith: d.comparedWith,
    otherBidsCompared: d.otherBids?.compared.length ?? 0,
    earlierReleasesCompared: d.earlier?.compared ?? 0,
    personsLeft: shownCount(d.left + d.withheldToCover + (d.earlier?.withheldToCover ?? 0)),
    personsJoined: shownCount(d.joined),
    newPersonsHeldBack: d.heldBack > 0,
  };
}
