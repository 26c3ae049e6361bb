import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What reviewers see of a bid is what was submitted (`submitted_at IS NOT NULL`, bid-access.ts), not
 * "every state but draft": a draft withdrawn without ever being submitted became readable by every
 * reviewer (an outsider's probe, 2026-12-07). The same for an amendment (a version after the first).
 *
 * The services set `submitted_at` on every submission and never clear it, so on data written by
 * them nothing changes here. Rows written otherwise (by SQL, by an older loader) get it from their
 * history first: the latest event into `submitted`; a bid or amendment in a state only a submission
 * reaches, with no such event, gets its creation time (it was submitted, when is not known). A
 * withdrawn one with no submission in its history stays without: it was never submitted, and stays
 * its organisation's alone. Then CHECK constraints keep it so: a row in a state only a submission
 * reaches has `submitted_at`, so no bid reaches a reviewer's state unseen by them, and none is shown
 * to them without having been submitted.
 */
export class BidsSubmitted1764000051000 implements MigrationInterface {
  name = 'BidsSubmitted1764000051000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      UPDATE bids b SET submitted_at = coalesce(s.at, b.created_at)
        FROM bids x LEFT JOIN LATERAL (
               SELECT max(e.at) AS at FROM bid_events e WHERE e.bid_id = x.id AND e.to_state = 'submitted') s ON true
       WHERE x.id = b.id AND b.submitted_at IS NULL
         AND (b.state NOT IN ('draft', 'withdrawn') OR s.at IS NOT NULL)`);
    await q.query(`
      UPDATE bid_versions v SET submitted_at = coalesce(s.at, v.created_at)
        FROM bid_versions x LEFT JOIN LATERAL (
               SELECT max(e.at) AS at FROM bid_events e
                WHERE e.bid_id = x.bid_id AND e.action = 'amend_submit' AND e.details->>'version' = x.version::text) s ON true
       WHERE x.bid_id = v.bid_id AND x.version = v.version AND v.base_version IS NOT NULL AND v.submitted_at IS NULL
         AND (v.state NOT IN ('draft', 'withdrawn') OR s.at IS NOT NULL)`);
    await q.query(`
      ALTER TABLE bids ADD CONSTRAINT bids_submitted
        CHECK (state IN ('draft', 'withdrawn') OR submitted_at IS NOT NULL)`);
    await q.query(`
      ALTER TABLE bid_versions ADD CONSTRAINT bid_versions_submitted
        CHECK (base_version IS NULL OR state IN ('draft', 'withdrawn') OR submitted_at IS NOT NULL)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE bid_versions DROP CONSTRAINT bid_versions_submitted`);
    await q.query(`ALTER TABLE bids DROP CONSTRAINT bids_submitted`);
  }
}
