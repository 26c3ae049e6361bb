import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Fix 37's rule on histories written before it: whoever left a release of a bid stays withheld in
 * every later release of it. The guard keeps that list in the `withheld` sets of the bid's last
 * release and carries it forward; before fix 37 only covered leavers were in it, so a group of k
 * or more who left together (no cover) could come back one by one, the one back singled out
 * (probe 33). This adds to the `withheld` sets of each bid's last completed guarded release every
 * person an earlier release of the bid released and that one neither released nor withheld — once,
 * here, rather than re-reading every earlier release at each release (2.7 s of the guard at 1M
 * persons × 5 releases, measured). Nothing is removed; `down` leaves the sets as they are (a person
 * withheld is never put back).
 */
export class LedgerLeaversWithheld1764000064000 implements MigrationInterface {
  name = 'LedgerLeaversWithheld1764000064000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      WITH runs AS (
        SELECT r.id, r.bid_id,
               row_number() OVER (PARTITION BY r.bid_id ORDER BY r.completed_at DESC, r.id) AS n
          FROM releases r JOIN release_ledger l ON l.release_id = r.id AND l.guard = 'record_difference'
         WHERE r.state = 'completed'),
      last AS (SELECT id, bid_id FROM runs WHERE n = 1),
      gone AS (
        SELECT l.id AS release_id, m.part, u.n
          FROM last l
          JOIN runs e ON e.bid_id = l.bid_id AND e.n > 1
          JOIN release_ledger_members m ON m.release_id = e.id AND m.state = 'released'
          CROSS JOIN LATERAL unnest(m.nhs) AS u(n)
        EXCEPT
        SELECT m.release_id, m.part, u.n
          FROM last l JOIN release_ledger_members m ON m.release_id = l.id
          CROSS JOIN LATERAL unnest(m.nhs) AS u(n)),
      added AS (SELECT release_id, part, array_agg(n ORDER BY n) AS nhs FROM gone GROUP BY 1, 2)
      INSERT INTO release_ledger_members AS t (release_id, state, part, nhs)
      SELECT release_id, 'withheld', part, nhs FROM added
      ON CONFLICT (release_id, state, part) DO UPDATE SET nhs = t.nhs || EXCLUDED.nhs`);
  }

  async down(): Promise<void> {
    // Nothing to undo: a person withheld is never put back.
  }
}
