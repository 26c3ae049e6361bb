import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Identity, sessions, throttling and the audit trail. Creates the restricted application role
 * and gives it DML on every table this and later migrations create, except that the audit trail
 * is append-only for it (no UPDATE, DELETE or TRUNCATE; a trigger refuses them for everyone else).
 */
export class Foundation1764000000000 implements MigrationInterface {
  name = 'Foundation1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      DO $$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'custodian_app') THEN
          CREATE ROLE custodian_app NOLOGIN;
        END IF;
      END $$;
    `);
    await q.query(
      `DO $$ BEGIN EXECUTE format('GRANT custodian_app TO %I', current_user); EXCEPTION WHEN others THEN NULL; END $$;`,
    );
    await q.query(`GRANT USAGE ON SCHEMA public TO custodian_app`);
    await q.query(
      `ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO custodian_app`,
    );
    await q.query(
      `ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO custodian_app`,
    );
    await q.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO custodian_app`);

    await q.query(`
      CREATE TABLE organisations (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name varchar(200) NOT NULL,
        kind varchar(20) NOT NULL CHECK (kind IN ('academic','nhs','commercial','charity','public_body')),
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT organisations_name_unique UNIQUE (name)
      )`);
    await q.query(`
      CREATE TABLE users (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        email varchar(254) NOT NULL,
        password_hash varchar(200) NOT NULL,
        display_name varchar(200) NOT NULL,
        roles text[] NOT NULL CHECK (cardinality(roles) > 0 AND roles <@ ARRAY['admin','data_manager','practice','researcher','panel_member','release_officer','auditor']::text[]),
        organisation_id uuid REFERENCES organisations(id),
        practice_ods char(6) CHECK (practice_ods ~ '^[A-Z][0-9]{5}$'),
        disabled boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT users_email_unique UNIQUE (email),
        CONSTRAINT users_email_lower CHECK (email = lower(email)),
        CONSTRAINT users_practice_binding CHECK (NOT ('practice' = ANY(roles)) OR practice_ods IS NOT NULL),
        CONSTRAINT users_researcher_org CHECK (NOT ('researcher' = ANY(roles)) OR organisation_id IS NOT NULL)
      )`);
    await q.query(`CREATE INDEX users_organisation_idx ON users (organisation_id)`);

    await q.query(`
      CREATE TABLE auth_sessions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id),
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz,
        revoked_reason varchar(40)
      )`);
    await q.query(`CREATE INDEX auth_sessions_user_idx ON auth_sessions (user_id) WHERE revoked_at IS NULL`);
    await q.query(`
      CREATE TABLE refresh_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        session_id uuid NOT NULL REFERENCES auth_sessions(id),
        token_hash bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        used_at timestamptz
      )`);
    await q.query(`CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id)`);
    await q.query(`
      CREATE TABLE login_attempts (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        email varchar(254) NOT NULL,
        ip varchar(64) NOT NULL,
        succeeded boolean NOT NULL
      )`);
    await q.query(`CREATE INDEX login_attempts_email_idx ON login_attempts (email, at) WHERE NOT succeeded`);
    await q.query(`CREATE INDEX login_attempts_ip_idx ON login_attempts (ip, at) WHERE NOT succeeded`);

    await q.query(`
      CREATE TABLE audit_log (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL,
        actor_id uuid,
        actor_roles text[] NOT NULL DEFAULT '{}',
        action varchar(80) NOT NULL,
        outcome varchar(20) NOT NULL CHECK (outcome IN ('success','failure','denied')),
        bid_id uuid,
        subject_type varchar(40),
        subject_id varchar(80),
        request_id varchar(64),
        ip varchar(64),
        details jsonb NOT NULL DEFAULT '{}',
        prev_hash char(64) NOT NULL,
        hash char(64) NOT NULL
      )`);
    await q.query(`CREATE INDEX audit_log_bid_idx ON audit_log (bid_id, id) WHERE bid_id IS NOT NULL`);
    await q.query(`CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, id)`);
    await q.query(`CREATE INDEX audit_log_action_idx ON audit_log (action, id)`);
    await q.query(`CREATE INDEX audit_log_at_idx ON audit_log (at)`);
    await q.query(`REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM custodian_app`);
    await q.query(`
      CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await q.query(`
      CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
      FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()`);
    await q.query(`
      CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
      FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `DROP TABLE audit_log, login_attempts, refresh_tokens, auth_sessions, users, organisations`,
    );
    await q.query(`DROP FUNCTION audit_log_append_only()`);
  }
}
