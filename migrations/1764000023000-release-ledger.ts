import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The release ledger (#27): what each release was compared with and what a differencing guard did,
 * so that releases of one bid (and, later, one organisation's aggregate tables) cannot be
 * subtracted from each other to single out a person.
 *
 * - `release_ledger`: one row per release and guard — `record_difference` now (a record-level
 *   release differs from the bid's earlier releases by no persons or by at least k); a later
 *   per-organisation aggregate-cell guard adds its own value of `guard` (the CHECK lists them)
 *   and its own state table beside `release_ledger_persons`, keyed by `organisation_id`.
 * - `release_ledger_persons`: the record guard's state, per release: the persons it released, and
 *   those withheld to cover a difference (withheld for good in the bid's later releases). Only a
 *   completed release's rows are ever compared with; a failed attempt's rows are replaced on retry.
 *
 * NHS numbers, like `bid_cohort_members`: internal to the centre, never in a file or a response.
 * Written and read by `libs/release` only.
 *
 * Also (#27, pseudonymised bids of one organisation): `bid_votes.approve_linkage`, owned by
 * `libs/bids`.
 */
export class ReleaseLedger1764000023000 implements MigrationInterface {
  name = 'ReleaseLedger1764000023000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE release_ledger (
        release_id uuid NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
        guard text NOT NULL CHECK (guard IN ('record_difference')),
        bid_id uuid NOT NULL,
        organisation_id uuid NOT NULL,
        compared_with uuid REFERENCES releases(id) ON DELETE SET NULL,
        decision jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (release_id, guard)
      )`);
    await q.query(`CREATE INDEX release_ledger_bid_idx ON release_ledger (bid_id, guard)`);
    await q.query(`CREATE INDEX release_ledger_organisation_idx ON release_ledger (organisation_id, guard)`);
    await q.query(`
      CREATE TABLE release_ledger_persons (
        release_id uuid NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
        nhs char(10) NOT NULL,
        state text NOT NULL CHECK (state IN ('released', 'withheld')),
        PRIMARY KEY (release_id, nhs)
      )`);
    // A panel member's approval of linkage with the organisation's other bids (#27): without it
    // from every approving member, a pseudonymised agreement carries the no-linkage condition.
    await q.query(`ALTER TABLE bid_votes ADD COLUMN approve_linkage boolean NOT NULL DEFAULT false`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE bid_votes DROP COLUMN approve_linkage`);
    await q.query(`DROP TABLE release_ledger_persons`);
    await q.query(`DROP TABLE release_ledger`);
  }
}
