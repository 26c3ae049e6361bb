import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit chain's position of each entry (#24): `audit_log.seq` = 1, 2, … with no gap, in chain
 * order, so the register's public reads are cheap on a long chain — the checkpoint's length is the
 * head row's `seq` (not a count of the log) and `/api/register/audit-hashes` seeks to a position by
 * index (not OFFSET). Ids cannot serve: a rolled-back append leaves a gap in them.
 *
 * The position is assigned by the database, whatever the inserter supplies: a BEFORE INSERT trigger
 * takes the audit chain's advisory lock (the one `AuditService` holds while it appends, so appends
 * stay in one order) and gives the row the head's `seq` + 1. Existing entries are numbered in id
 * order (the append-only trigger is set aside for that one statement, as the owner).
 */
export class AuditPosition1764000032000 implements MigrationInterface {
  name = 'AuditPosition1764000032000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE audit_log ADD COLUMN seq bigint`);
    await q.query(`ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only`);
    await q.query(`
      UPDATE audit_log a SET seq = n.p
        FROM (SELECT id, row_number() OVER (ORDER BY id) AS p FROM audit_log) n
       WHERE n.id = a.id`);
    await q.query(`ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only`);
    await q.query(`ALTER TABLE audit_log ALTER COLUMN seq SET NOT NULL`);
    await q.query(`ALTER TABLE audit_log ADD CONSTRAINT audit_log_seq_key UNIQUE (seq)`);
    await q.query(`ALTER TABLE audit_log ADD CONSTRAINT audit_log_seq_check CHECK (seq >= 1)`);
    await q.query(`
      CREATE FUNCTION audit_log_position() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_advisory_xact_lock(7365110001);
        NEW.seq := COALESCE((SELECT seq FROM audit_log ORDER BY seq DESC LIMIT 1), 0) + 1;
        RETURN NEW;
      END $$`);
    await q.query(`
      CREATE TRIGGER audit_log_position BEFORE INSERT ON audit_log
      FOR EACH ROW EXECUTE FUNCTION audit_log_position()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER audit_log_position ON audit_log`);
    await q.query(`DROP FUNCTION audit_log_position()`);
    await q.query(`ALTER TABLE audit_log DROP COLUMN seq`);
  }
}
