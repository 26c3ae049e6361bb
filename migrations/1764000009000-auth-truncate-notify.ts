import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `TRUNCATE auth_sessions` (an emergency "sign everyone out") or of `users` fires no row trigger:
 * announce it on `custodian_auth` with `*`, and every API process forgets every session check.
 */
export class AuthTruncateNotify1764000009000 implements MigrationInterface {
  name = 'AuthTruncateNotify1764000009000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION notify_auth_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('custodian_auth', '*');
        RETURN NULL;
      END $$`);
    for (const table of ['auth_sessions', 'users'])
      await q.query(`
        CREATE TRIGGER ${table}_notify_truncated AFTER TRUNCATE ON ${table}
          FOR EACH STATEMENT EXECUTE FUNCTION notify_auth_truncated()`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['auth_sessions', 'users'])
      await q.query(`DROP TRIGGER ${table}_notify_truncated ON ${table}`);
    await q.query(`DROP FUNCTION notify_auth_truncated()`);
  }
}
