import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The release engine: releases and their files, per-bid pseudonymisation keys (encrypted), the
 * consent cohort of a bid, and the register view of releases. pgcrypto gives the engine `hmac()`
 * so pseudo_ids are computed set-based inside PostgreSQL with the key passed as a bound parameter.
 */
export class Releases1764000006000 implements MigrationInterface {
  name = 'Releases1764000006000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE EXTENSION IF NOT EXISTS pgcrypto`);
    await q.query(`
      CREATE TABLE releases (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        bid_id uuid NOT NULL,
        state varchar(10) NOT NULL DEFAULT 'queued' CHECK (state IN ('queued','running','completed','failed')),
        tier varchar(14) NOT NULL CHECK (tier IN ('identifiable','pseudonymised','anonymised','aggregate')),
        legal_basis varchar(24) NOT NULL,
        spec jsonb NOT NULL,
        requested_by uuid NOT NULL,
        token_seed_enc bytea NOT NULL,
        snapshot_at timestamptz,
        rows_done bigint NOT NULL DEFAULT 0,
        rows_estimated bigint NOT NULL DEFAULT 0,
        excluded jsonb NOT NULL DEFAULT '{}',
        failure_reason varchar(300),
        manifest jsonb,
        attempts int NOT NULL DEFAULT 0,
        downloadable boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        completed_at timestamptz,
        destroyed_at timestamptz,
        destruction_reason varchar(200)
      )`);
    await q.query(`CREATE INDEX releases_bid_idx ON releases (bid_id, created_at)`);
    await q.query(`
      CREATE TABLE release_files (
        release_id uuid NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
        name varchar(40) NOT NULL,
        rows bigint NOT NULL,
        bytes bigint NOT NULL,
        sha256 char(64) NOT NULL,
        PRIMARY KEY (release_id, name)
      )`);
    await q.query(`
      CREATE TABLE bid_keys (
        bid_id uuid PRIMARY KEY,
        key_enc bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    // One line per release for the public register (the register module joins bid and organisation).
    await q.query(`
      CREATE VIEW release_register_lines AS
      SELECT r.id AS release_id,
             r.completed_at AS released_at,
             r.bid_id,
             r.tier,
             r.legal_basis,
             r.manifest -> 'objections' ->> 'applied' AS objections_applied,
             r.manifest -> 'objections' ->> 'reason' AS objections_reason,
             r.spec ->> 'agreementReference' AS agreement_reference,
             (SELECT array_agg(d ->> 'dataset' ORDER BY d ->> 'dataset') FROM jsonb_array_elements(r.spec -> 'datasets') d) AS datasets,
             r.destroyed_at
        FROM releases r
       WHERE r.state = 'completed'`);
    await q.query(`GRANT SELECT ON release_register_lines TO custodian_app`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP VIEW release_register_lines`);
    await q.query(`DROP TABLE release_files, releases, bid_keys`);
  }
}
