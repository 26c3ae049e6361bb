import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Repeated identical denials are counted, not chained one by one (a client with a bad token wrote
 * ~124 chained rows a second, each under the chain's global lock):
 *
 * - `audit_denials`: one row per (minute, actor or address, kind of denial). The first occurrence
 *   is chained at once; repeats only add to `pending`, and the sweep chains one summary entry with
 *   the count once the minute has closed and deletes the row in the same transaction. Counts live in
 *   the table, so several API processes share them and a crash loses none.
 * - `auth_failures`: unauthenticated failures (bad bearer tokens) per client address per minute,
 *   for the 429 that stops a flood before it costs anything more.
 * - `login_attempts (email, ip, at)`: the per-(account, address) count behind the login delays.
 */
export class AuditDenialCounters1764000012000 implements MigrationInterface {
  name = 'AuditDenialCounters1764000012000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE audit_denials (
        window_start timestamptz NOT NULL,
        actor_key varchar(100) NOT NULL,
        kind char(64) NOT NULL,
        action varchar(80) NOT NULL,
        outcome varchar(20) NOT NULL CHECK (outcome IN ('success','failure','denied')),
        actor_id uuid,
        actor_roles text[] NOT NULL DEFAULT '{}',
        bid_id uuid,
        subject_type varchar(40),
        subject_id varchar(80),
        ip varchar(64),
        details jsonb NOT NULL DEFAULT '{}',
        last_request_id varchar(64),
        pending int NOT NULL DEFAULT 0,
        PRIMARY KEY (window_start, actor_key, kind)
      )`);
    await q.query(`
      CREATE TABLE auth_failures (
        ip varchar(64) NOT NULL,
        window_start timestamptz NOT NULL,
        failures int NOT NULL,
        PRIMARY KEY (ip, window_start)
      )`);
    await q.query(
      `CREATE INDEX login_attempts_email_ip_idx ON login_attempts (email, ip, at) WHERE NOT succeeded`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX login_attempts_email_ip_idx`);
    await q.query(`DROP TABLE auth_failures, audit_denials`);
  }
}
