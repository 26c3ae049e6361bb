import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Amendments (#25): a bid's versions. The bid row keeps the version in force (`bids.version`, its
 * content in the bid's own columns, which releases read); `bid_versions` keeps each version's
 * changeable content and state — the version in force as a snapshot (taken when the first amendment
 * is opened) and every amendment with its reason, its scope (narrowing / widening) and its review.
 * At most one amendment of a bid is open at a time (a partial unique index, so two at once cannot
 * both be written).
 *
 * Agreements say which bid version they cover (`bid_version`); an agreement replaced by a newer
 * version's is `superseded`. Votes say which version they were cast on. The register log gets
 * `amendment` lines (one per agreement version after the first).
 */
export class BidAmendments1764000035000 implements MigrationInterface {
  name = 'BidAmendments1764000035000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE bids ADD COLUMN version smallint NOT NULL DEFAULT 1 CHECK (version >= 1)`);
    await q.query(`
      CREATE TABLE bid_versions (
        bid_id uuid NOT NULL REFERENCES bids(id),
        version smallint NOT NULL CHECK (version >= 1),
        base_version smallint CHECK (base_version >= 1 AND base_version < version),
        state varchar(12) NOT NULL CHECK (state IN
          ('draft','submitted','returned','in_review','approved','rejected','withdrawn','in_force','superseded')),
        scope varchar(10) CHECK (scope IN ('narrowing','widening')),
        reason text,
        datasets jsonb NOT NULL,
        cohort jsonb NOT NULL DEFAULT '{}',
        aggregation jsonb,
        duration_months smallint NOT NULL CHECK (duration_months BETWEEN 1 AND 120),
        recipients uuid[] NOT NULL,
        conditions text[] NOT NULL DEFAULT '{}',
        review_round integer,
        created_by uuid REFERENCES users(id),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        submitted_at timestamptz,
        decided_at timestamptz,
        PRIMARY KEY (bid_id, version),
        CONSTRAINT bid_versions_amendment_base CHECK ((version = 1) = (base_version IS NULL))
      )`);
    await q.query(
      `CREATE UNIQUE INDEX bid_versions_one_open ON bid_versions (bid_id)
         WHERE state IN ('draft','submitted','returned','in_review','approved')`,
    );
    await q.query(`
      CREATE TRIGGER bid_versions_notify_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON bid_versions
        FOR EACH STATEMENT EXECUTE FUNCTION notify_bids_changed()`);

    await q.query(`ALTER TABLE agreements ADD COLUMN bid_version smallint NOT NULL DEFAULT 1`);
    await q.query(`ALTER TABLE agreements DROP CONSTRAINT agreements_status_check`);
    await q.query(
      `ALTER TABLE agreements ADD CONSTRAINT agreements_status_check
         CHECK (status IN ('offered','active','expired','revoked','closed','superseded'))`,
    );
    // At most one agreement of a bid in force at a time.
    await q.query(`CREATE UNIQUE INDEX agreements_one_active ON agreements (bid_id) WHERE status = 'active'`);

    await q.query(`ALTER TABLE bid_votes ADD COLUMN bid_version smallint NOT NULL DEFAULT 1`);

    await q.query(`ALTER TABLE register_log DROP CONSTRAINT register_log_kind_check`);
    await q.query(
      `ALTER TABLE register_log ADD CONSTRAINT register_log_kind_check
         CHECK (kind IN ('decision', 'release', 'amendment'))`,
    );
    await q.query(
      `CREATE UNIQUE INDEX register_log_amendment_agreement ON register_log ((line->>'agreementReference'))
         WHERE kind = 'amendment'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX register_log_amendment_agreement`);
    await q.query(`ALTER TABLE register_log DROP CONSTRAINT register_log_kind_check`);
    await q.query(
      `ALTER TABLE register_log ADD CONSTRAINT register_log_kind_check CHECK (kind IN ('decision', 'release'))`,
    );
    await q.query(`ALTER TABLE bid_votes DROP COLUMN bid_version`);
    await q.query(`DROP INDEX agreements_one_active`);
    await q.query(`ALTER TABLE agreements DROP CONSTRAINT agreements_status_check`);
    await q.query(
      `ALTER TABLE agreements ADD CONSTRAINT agreements_status_check
         CHECK (status IN ('offered','active','expired','revoked','closed'))`,
    );
    await q.query(`ALTER TABLE agreements DROP COLUMN bid_version`);
    await q.query(`DROP TABLE bid_versions`);
    await q.query(`ALTER TABLE bids DROP COLUMN version`);
  }
}
