import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Segregation of duties for governance roles (issue #28): a governance role given through the API
 * (`admin`, `panel_member`, `release_officer`, `auditor`) is a `role_grants` row that a second
 * administrator approves or refuses; at most one pending grant per (user, role).
 *
 * - The schema re-checks the rules the service applies: nobody requests a grant for themselves, and
 *   an approval is decided by an administrator who is neither the requester nor the grantee.
 * - `users.roles` may now be empty: a user created with only governance roles exists with no
 *   effective role until approval (they can sign in; every route but their own profile denies them).
 */
export class RoleGrants1764000013000 implements MigrationInterface {
  name = 'RoleGrants1764000013000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users DROP CONSTRAINT users_roles_check`);
    await q.query(`
      ALTER TABLE users ADD CONSTRAINT users_roles_known CHECK (
        roles <@ ARRAY['admin','data_manager','practice','researcher','panel_member','release_officer','auditor']::text[])`);
    await q.query(`
      CREATE TABLE role_grants (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id),
        role varchar(20) NOT NULL CHECK (role IN ('admin','panel_member','release_officer','auditor')),
        requested_by uuid NOT NULL REFERENCES users(id),
        requested_at timestamptz NOT NULL DEFAULT now(),
        decided_by uuid REFERENCES users(id),
        decided_at timestamptz,
        outcome varchar(10) NOT NULL DEFAULT 'pending' CHECK (outcome IN ('pending','approved','refused')),
        CONSTRAINT role_grants_decided CHECK ((outcome = 'pending') = (decided_at IS NULL) AND (outcome = 'pending') = (decided_by IS NULL)),
        CONSTRAINT role_grants_not_self CHECK (requested_by <> user_id),
        CONSTRAINT role_grants_second_admin CHECK (outcome <> 'approved' OR (decided_by <> requested_by AND decided_by <> user_id))
      )`);
    await q.query(
      `CREATE UNIQUE INDEX role_grants_one_pending ON role_grants (user_id, role) WHERE outcome = 'pending'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE role_grants`);
    await q.query(`ALTER TABLE users DROP CONSTRAINT users_roles_known`);
    await q.query(`
      ALTER TABLE users ADD CONSTRAINT users_roles_check CHECK (cardinality(roles) > 0 AND
        roles <@ ARRAY['admin','data_manager','practice','researcher','panel_member','release_officer','auditor']::text[])`);
  }
}
