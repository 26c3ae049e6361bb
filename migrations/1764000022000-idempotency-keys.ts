import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `idempotency_keys` (issue 29): the first answer to a creating POST sent with an `Idempotency-Key`
 * header, per authenticated user and key, kept 24 hours, so a client that re-sends after an
 * unconfirmed commit gets that answer instead of a second bid or organisation.
 *
 * - `request_hash`: SHA-256 of method, path and body (a streamed body's is known once read);
 * - `status`, `body`: the answer, once the request has succeeded (null while in flight);
 * - `committed_at`: set inside every transaction the request commits, in that transaction, so a
 *   change that committed under the key is known even when its answer was lost;
 * - `lease_until`: an in-flight claim, renewed while the request runs; a claim whose process died
 *   (lease passed, nothing committed) may be taken over by a retry.
 */
export class IdempotencyKeys1764000022000 implements MigrationInterface {
  name = 'IdempotencyKeys1764000022000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE idempotency_keys (
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        key varchar(200) NOT NULL,
        method varchar(10) NOT NULL,
        path varchar(500) NOT NULL,
        request_hash char(64),
        status smallint,
        body jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        lease_until timestamptz NOT NULL,
        committed_at timestamptz,
        completed_at timestamptz,
        PRIMARY KEY (user_id, key)
      )`);
    await q.query(`CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE idempotency_keys`);
  }
}
