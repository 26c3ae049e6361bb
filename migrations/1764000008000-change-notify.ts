import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Change notifications for the API's caches (libs/database/src/change-feed.ts), sent when the
 * changing transaction commits, whoever made the change (the service, a worker, or SQL by hand):
 * - any change to a session or a user (logout, revocation, refresh-token reuse, role change,
 *   disabling, password change) announces the user's id on `custodian_auth`;
 * - any change to bids or agreements announces itself on `custodian_bids` (once per statement).
 */
export class ChangeNotify1764000008000 implements MigrationInterface {
  name = 'ChangeNotify1764000008000';

  async up(q: QueryRunner): Promise<void> {
    // One function per table: PL/pgSQL resolves OLD's fields per statement, even in an untaken branch.
    for (const [table, column] of [
      ['auth_sessions', 'user_id'],
      ['users', 'id'],
    ]) {
      await q.query(`
        CREATE FUNCTION ${table}_notify_auth() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM pg_notify('custodian_auth', OLD.${column}::text);
          RETURN NULL;
        END $$`);
      await q.query(`
        CREATE TRIGGER ${table}_notify_auth AFTER UPDATE OR DELETE ON ${table}
          FOR EACH ROW EXECUTE FUNCTION ${table}_notify_auth()`);
    }
    await q.query(`
      CREATE FUNCTION notify_bids_changed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('custodian_bids', '');
        RETURN NULL;
      END $$`);
    for (const table of ['bids', 'agreements'])
      await q.query(`
        CREATE TRIGGER ${table}_notify_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${table}
          FOR EACH STATEMENT EXECUTE FUNCTION notify_bids_changed()`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['bids', 'agreements'])
      await q.query(`DROP TRIGGER ${table}_notify_changed ON ${table}`);
    await q.query(`DROP FUNCTION notify_bids_changed()`);
    for (const table of ['auth_sessions', 'users']) {
      await q.query(`DROP TRIGGER ${table}_notify_auth ON ${table}`);
      await q.query(`DROP FUNCTION ${table}_notify_auth()`);
    }
  }
}
