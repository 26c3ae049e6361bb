import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Decision lines in the register log (#24): each approval's register line is chained in
 * `register_log` with the audit entry of its decision, as a release's line is. `kind` says which
 * ('release' for every line written before); a decision has no release (`release_id` null, and only
 * a release has one); a bid has at most one decision line. Existing lines keep their content and
 * hashes (a release line's JSON carries no `kind`).
 */
export class RegisterLogDecisions1764000034000 implements MigrationInterface {
  name = 'RegisterLogDecisions1764000034000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE register_log ADD COLUMN kind varchar(10) NOT NULL DEFAULT 'release'
         CHECK (kind IN ('decision', 'release'))`,
    );
    await q.query(`ALTER TABLE register_log ALTER COLUMN kind DROP DEFAULT`);
    await q.query(`ALTER TABLE register_log ALTER COLUMN release_id DROP NOT NULL`);
    await q.query(
      `ALTER TABLE register_log ADD CONSTRAINT register_log_release_id_kind
         CHECK ((kind = 'release') = (release_id IS NOT NULL))`,
    );
    await q.query(
      `CREATE UNIQUE INDEX register_log_decision_bid ON register_log ((line->>'bidId')) WHERE kind = 'decision'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX register_log_decision_bid`);
    await q.query(`ALTER TABLE register_log DROP CONSTRAINT register_log_release_id_kind`);
    await q.query(`ALTER TABLE register_log ALTER COLUMN release_id SET NOT NULL`);
    await q.query(`ALTER TABLE register_log DROP COLUMN kind`);
  }
}
