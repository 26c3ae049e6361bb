import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A bid may state aggregate dimensions beside a record-level tier (SPEC §4's own example body:
 * `requestedTier: pseudonymised` with `aggregation`): they are the counts the panel may grant
 * instead, by approving at the aggregate tier. The constraint said "dimensions exactly when the
 * aggregate tier is requested"; it now says "the aggregate tier needs dimensions".
 */
export class BidFallbackDimensions1764000054000 implements MigrationInterface {
  name = 'BidFallbackDimensions1764000054000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE bids DROP CONSTRAINT bids_aggregation`);
    await q.query(
      `ALTER TABLE bids ADD CONSTRAINT bids_aggregation CHECK (requested_tier <> 'aggregate' OR aggregation IS NOT NULL)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`UPDATE bids SET aggregation = NULL WHERE requested_tier <> 'aggregate'`);
    await q.query(`ALTER TABLE bids DROP CONSTRAINT bids_aggregation`);
    await q.query(
      `ALTER TABLE bids ADD CONSTRAINT bids_aggregation CHECK ((requested_tier = 'aggregate') = (aggregation IS NOT NULL))`,
    );
  }
}
