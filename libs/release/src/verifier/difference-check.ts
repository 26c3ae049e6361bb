import type { VerifierDb } from './verifier-sql';

/**
 * The record-level differencing rule (#27), re-checked by the verifier with its own SQL (not the
 * guard's, `release-ledger.ts`): a record-level release differs from the bid's last completed
 * record-level release by no persons or by at least k on each side — persons released then and not
 * now, persons released now and not then. Read from the release ledger (`release_ledger_members`:
 * arrays of NHS numbers by state), where each release records whom it released and whom it withheld; a release with a predecessor
 * and no ledger of its own did not run the guard, and fails.
 *
 * Returns what is wrong (counts in the message are exact: the verifier's messages reach officers
 * only), or undefined.
 */
export async function differenceProblem(
  db: VerifierDb,
  release: { id: string; bidId: string },
  k: number,
): Promise<{ problem?: string; comparedWith?: string }> {
  // The bid's last completed release that ran the guard (a release of no persons ran it too and
  // holds no sets); ties broken as the guard breaks them (a review, 2026-12-06: the two could
  // compare with different releases).
  const ranGuard = `EXISTS (SELECT 1 FROM release_ledger g WHERE g.release_id = r.id AND g.guard = 'record_difference')`;
  const [prev] = (await db.query(
    `SELECT r.id FROM releases r
      WHERE r.bid_id = $1 AND r.id <> $2 AND r.state = 'completed' AND ${ranGuard}
      ORDER BY r.completed_at DESC, r.id LIMIT 1`,
    [release.bidId, release.id],
  )) as { id: string }[];
  if (!prev) return {};
  const [own] = (await db.query(`SELECT ${ranGuard} AS ran FROM releases r WHERE r.id = $1`, [
    release.id,
  ])) as {
    ran: boolean;
  }[];
  if (!own?.ran)
    return {
      comparedWith: prev.id,
      problem: 'the bid has an earlier release and this one recorded no differencing ledger',
    };
  // One join of the two releases' ledgers, each unnested from its release's arrays.
  const [counts] = (await db.query(
    `SELECT count(*) FILTER (WHERE t.nhs IS NOT NULL AND n.state IS DISTINCT FROM 'released')::int AS left_,
            count(*) FILTER (WHERE n.state = 'released' AND t.nhs IS NULL)::int AS joined
       FROM (SELECT u.nhs, m.state FROM release_ledger_members m CROSS JOIN LATERAL unnest(m.nhs) AS u(nhs)
              WHERE m.release_id = $1) n
       FULL JOIN (SELECT u.nhs FROM release_ledger_members m CROSS JOIN LATERAL unnest(m.nhs) AS u(nhs)
                   WHERE m.release_id = $2 AND m.state = 'released') t
         ON t.nhs = n.nhs`,
    [release.id, prev.id],
  )) as { left_: number; joined: number }[];
  for (const [n, what] of [
    [counts.left_, 'persons of the earlier release left'],
    [counts.joined, 'persons joined'],
  ] as const)
    if (n > 0 && n < k)
      return {
        comparedWith: prev.id,
        problem: `${n} ${what} since the bid's earlier release: a difference of 1 to ${k - 1} persons singles them out`,
      };
  return { comparedWith: prev.id };
}
