import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Transparency (#24).
 *
 * - `releases.risk_report`: the release's risk and linkage report (exact figures; the public and
 *   the applicant read it through the small-number rule). Written by `libs/release`.
 * - `register_log`: one row per register line of a release, hash-chained (seq 1, 2, … with no gap):
 *   the line's fixed fields (files with SHA-256 and sizes) and the hash of the audit entry written
 *   in the same transaction. Append-only for the application, like `audit_log`. Owned by
 *   `libs/register`.
 * - `register_checkpoints`: signed heads (Ed25519) of the audit chain and of the register log,
 *   kept one per release and one per day at least. Append-only for the application. Owned by
 *   `libs/register`.
 */
export class Transparency1764000031000 implements MigrationInterface {
  name = 'Transparency1764000031000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE releases ADD COLUMN risk_report jsonb`);
    await q.query(`
      CREATE TABLE register_log (
        seq bigint PRIMARY KEY CHECK (seq >= 1),
        release_id uuid NOT NULL UNIQUE,
        audit_id bigint NOT NULL,
        audit_hash char(64) NOT NULL,
        line jsonb NOT NULL,
        line_hash char(64) NOT NULL,
        prev_hash char(64) NOT NULL,
        hash char(64) NOT NULL,
        at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`REVOKE UPDATE, DELETE, TRUNCATE ON register_log FROM custodian_app`);
    await q.query(`
      CREATE TABLE register_checkpoints (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at timestamptz NOT NULL,
        reason varchar(10) NOT NULL CHECK (reason IN ('release', 'daily')),
        audit_length bigint NOT NULL CHECK (audit_length >= 0),
        audit_head char(64) NOT NULL,
        register_length bigint NOT NULL CHECK (register_length >= 0),
        register_head char(64) NOT NULL,
        key_id char(16) NOT NULL,
        signature text NOT NULL
      )`);
    await q.query(`CREATE INDEX register_checkpoints_at_idx ON register_checkpoints (at)`);
    await q.query(`REVOKE UPDATE, DELETE, TRUNCATE ON register_checkpoints FROM custodian_app`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE register_checkpoints, register_log`);
    await q.query(`ALTER TABLE releases DROP COLUMN risk_report`);
  }
}
