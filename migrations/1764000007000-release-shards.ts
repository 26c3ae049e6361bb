import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Sharded releases. A release's working set (its persons with their tier identifiers, who has rows
 * in which file, blocked NHS numbers) is committed to unlogged tables in `release_work` so that
 * workers in other processes can build shards of it; `release_shards` records each shard's range
 * of persons and whether its files are written. `releases.work` holds the build number and the
 * exported snapshot the shards read the source tables in.
 */
export class ReleaseShards1764000007000 implements MigrationInterface {
  name = 'ReleaseShards1764000007000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE SCHEMA release_work`);
    // The application creates and drops a release's working tables itself; nothing else lives here.
    await q.query(`GRANT USAGE, CREATE ON SCHEMA release_work TO custodian_app`);
    await q.query(`ALTER TABLE releases ADD COLUMN work jsonb`);
    await q.query(`
      CREATE TABLE release_shards (
        release_id uuid NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
        build int NOT NULL,
        shard int NOT NULL,
        first_person bigint NOT NULL,
        last_person bigint NOT NULL,
        state varchar(8) NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','running','done')),
        rows jsonb,
        timings jsonb,
        worker varchar(100),
        started_at timestamptz,
        finished_at timestamptz,
        PRIMARY KEY (release_id, build, shard)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE release_shards`);
    await q.query(`ALTER TABLE releases DROP COLUMN work`);
    await q.query(`DROP SCHEMA release_work CASCADE`);
  }
}
