import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Shard leases (#29): a shard's claim is numbered (`claim`, one more at each claim) and renewed
 * (`heartbeat_at`); a claim not renewed within RELEASE_SHARD_LEASE_SECONDS is taken over, and the
 * stalled claimant's later writes are refused by their claim number.
 */
export class ShardLeases1764000021000 implements MigrationInterface {
  name = 'ShardLeases1764000021000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE release_shards ADD COLUMN claim int NOT NULL DEFAULT 0, ADD COLUMN heartbeat_at timestamptz`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE release_shards DROP COLUMN heartbeat_at, DROP COLUMN claim`);
  }
}
