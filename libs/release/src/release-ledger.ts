import { shownCount } from './disclosure-control';

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
 * counted without the withheld persons). Set-based: a few statements over the persons, whatever
 * their number; the ledger holds one row per person per release, written in one INSERT with no
 * per-row key check (its release is checked once per statement: migration 1764000045000).
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
}

type Q = <T = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<T[]>;

export async function guardDifference(
  q: Q,
  release: { id: string; bidId: string; organisationId: string },
  k: number,
  key: Buffer,
): Promise<DifferenceDecision> {
  await q(`DELETE FROM release_ledger_persons WHERE release_id = $1`, [release.id]);
  await q(`DELETE FROM release_ledger WHERE release_id = $1 AND guard = $2`, [release.id, GUARD]);
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
  // The last release's ledger, as a table of this transaction: unlogged beside the working set
  // (shared buffers and parallel scans; a temp table of a million persons spills out of
  // `temp_buffers`), with no key of its own (one row per person by construction; the comparisons
  // below are hash joins): 16 s of a 1M-person release with a temp table and its primary key.
  const relPrev = `release_work.r${release.id.replace(/-/g, '')}_prev`;
  if (!/^release_work\.r[0-9a-f]{32}_prev$/.test(relPrev)) throw new Error('release id is not a UUID');
  if (prev) {
    await q(
      `CREATE UNLOGGED TABLE ${relPrev} AS
       SELECT nhs, state FROM release_ledger_persons WHERE release_id = $1`,
      [prev.id],
    );
    await q(`ANALYZE ${relPrev}`);
    await q(`CREATE TEMP VIEW rel_prev AS SELECT * FROM ${relPrev}`);
    // Withheld before: withheld still.
    const still = await q<{ n: number }>(
      `WITH u AS (UPDATE rp SET excl = $1 WHERE excl IS NULL
                    AND nhs IN (SELECT nhs FROM rel_prev WHERE state = 'withheld') RETURNING 1)
       SELECT count(*)::int AS n FROM u`,
      [WITHHELD_FOR_DIFFERENCE],
    );
    decision.stillWithheld = still[0].n;
    const [{ left, joined }] = await q<{ left: number; joined: number }>(
      `SELECT (SELECT count(*) FROM rel_prev p WHERE p.state = 'released'
                 AND NOT EXISTS (SELECT 1 FROM rp WHERE rp.nhs = p.nhs AND rp.excl IS NULL))::int AS left,
              (SELECT count(*) FROM rp WHERE rp.excl IS NULL
                 AND NOT EXISTS (SELECT 1 FROM rel_prev p WHERE p.nhs = rp.nhs))::int AS joined`,
    );
    decision.left = left;
    if (left > 0 && left < k) {
      const cover = await q<{ n: number }>(
        `WITH pick AS (
           SELECT rp.nhs FROM rp JOIN rel_prev p ON p.nhs = rp.nhs AND p.state = 'released'
            WHERE rp.excl IS NULL
            ORDER BY hmac(convert_to(rp.nhs, 'UTF8'), $2::bytea, 'sha256') LIMIT $3),
         u AS (UPDATE rp SET excl = $1 WHERE nhs IN (SELECT nhs FROM pick) RETURNING 1)
         SELECT count(*)::int AS n FROM u`,
        [WITHHELD_FOR_DIFFERENCE, key, k - left],
      );
      decision.withheldToCover = cover[0].n;
    }
    if (joined > 0 && joined < k) {
      await q(
        `UPDATE rp SET excl = $1 WHERE excl IS NULL AND NOT EXISTS (SELECT 1 FROM rel_prev p WHERE p.nhs = rp.nhs)`,
        [HELD_BACK_NEW],
      );
      decision.heldBack = joined;
    } else decision.joined = joined;
  }
  await q(
    `INSERT INTO release_ledger_persons (release_id, nhs, state)
     SELECT $1, nhs, CASE WHEN excl IS NULL THEN 'released' ELSE 'withheld' END FROM rp
      WHERE excl IS NULL OR excl = $2`,
    [release.id, WITHHELD_FOR_DIFFERENCE],
  );
  // Withheld persons no longer in the cohort stay withheld should they come back. (Those still in
  // it were written above: a person is in a release's ledger once, by construction — the ledger
  // has no per-row key check, migration 1764000045000.)
  if (prev)
    await q(
      `INSERT INTO release_ledger_persons (release_id, nhs, state)
       SELECT $1, p.nhs, 'withheld' FROM rel_prev p
        WHERE p.state = 'withheld'
          AND NOT EXISTS (SELECT 1 FROM rp WHERE rp.nhs = p.nhs AND (rp.excl IS NULL OR rp.excl = $2))`,
      [release.id, WITHHELD_FOR_DIFFERENCE],
    );
  if (prev) await q(`DROP VIEW rel_prev; DROP TABLE ${relPrev}`);
  await q(
    `INSERT INTO release_ledger (release_id, guard, bid_id, organisation_id, compared_with, decision)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [release.id, GUARD, release.bidId, release.organisationId, prev?.id ?? null, JSON.stringify(decision)],
  );
  return decision;
}

/** What the manifest says (researchers read it: counts of persons by the aggregate rule). */
export function differencingManifest(d: DifferenceDecision) {
  return {
    rule: `a release differs from the bid's last release by no persons or by at least k=${d.k}: if fewer than k left (objections are always honoured), further persons are withheld, for good, so that k leave; fewer than k new persons are held back until there are k`,
    k: d.k,
    comparedWith: d.comparedWith,
    personsLeft: shownCount(d.left + d.withheldToCover),
    personsJoined: shownCount(d.joined),
    newPersonsHeldBack: d.heldBack > 0,
  };
}
