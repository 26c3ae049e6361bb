import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Notifications (#25): the transactional outbox of email notices, one row per recipient, written in
 * the transaction of the change it announces (docs/NOTIFICATIONS.md). Owned by `libs/notifications`.
 *
 * - `state`: `outbox` (no SMTP configured: shown in the portal only), `queued` (a send job exists),
 *   `sent`, `failed` (tries exhausted), `cancelled` (the recipient was disabled before it went).
 * - `dedupe_key`: one notice per recipient per key (the daily sweep's awareness and expiry notices).
 * - `last_error`: the SMTP reply's code and text, bounded; never the server's URL or credentials.
 */
export class Notifications1764000037000 implements MigrationInterface {
  name = 'Notifications1764000037000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE notifications (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users (id),
        kind varchar(40) NOT NULL,
        subject varchar(200) NOT NULL,
        body text NOT NULL,
        link varchar(300) NOT NULL,
        bid_id uuid,
        subject_type varchar(40),
        subject_id varchar(64),
        dedupe_key varchar(200),
        state varchar(9) NOT NULL DEFAULT 'outbox'
          CHECK (state IN ('outbox', 'queued', 'sent', 'failed', 'cancelled')),
        attempts smallint NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        last_error varchar(300),
        created_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz,
        read_at timestamptz
      )`);
    await q.query(`CREATE INDEX notifications_user_idx ON notifications (user_id, created_at DESC, id)`);
    await q.query(`CREATE INDEX notifications_state_idx ON notifications (state, created_at DESC)`);
    await q.query(
      `CREATE UNIQUE INDEX notifications_dedupe_idx ON notifications (user_id, dedupe_key) WHERE dedupe_key IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE notifications`);
  }
}
