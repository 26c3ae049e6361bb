import type { Client } from 'pg';
import type { QueryRunner } from 'typeorm';
import { createTestDatabase, TestDatabase } from '@custodian/testing';
import { RegistrationsAtSpanEnd1764000056000 } from '../migrations/1764000056000-registrations-at-span-end';

/**
 * Review 15 of migration 1764000056000. `effective_at + interval '1 day'` on a timestamptz is
 * calendar arithmetic in the SESSION's time zone: a day is 23 or 25 hours long where the zone has
 * DST. The migration runs as the database URL's user with whatever `timezone` the server/database
 * has (nothing pins it to UTC; test/downloads-timezone shows the project supports non-UTC
 * databases). Under Europe/London:
 * - 2020-03-29 (clocks forward): the registration lands on 22:59:59Z, not 23:59:59Z — a withdrawal
 *   at 23:30Z (which the new intake would not let lift a date-only registration of that day) lifts it;
 * - 2020-10-25 (clocks back): it lands on 2020-10-26T00:59:59Z, the next UTC day, while
 *   `effective_on` (not updated) stays 2020-10-25: the CHECK objection_events_effective_agree fails and
 *   the whole migration aborts (deployment fails).
 */
describe('review-15: migration 1764000056000 under a database time zone with DST', () => {
  let db: TestDatabase;
  let sql: Client;
  beforeAll(async () => {
    db = await createTestDatabase();
    sql = await db.superuser();
  });
  afterAll(() => db?.drop());

  const q = () => ({ query: (s: string) => sql.query(s).then((r) => r.rows) }) as unknown as QueryRunner;
  const at = `to_char(effective_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`;

  it('F2: spring-forward day: the registration moves to 23:59:59Z of its UTC day and a withdrawal at 23:30Z does not lift it', async () => {
    const n = '9434765919';
    await sql.query(
      `INSERT INTO objection_events (nhs_number, type, action, effective_at, source, practice_ods, recorded_at) VALUES
         ($1, 'type2', 'register', TIMESTAMPTZ '2020-03-29T00:00:00Z', 'extract', 'A81001', TIMESTAMPTZ '2020-06-01T00:00:00Z'),
         ($1, 'type2', 'withdraw', TIMESTAMPTZ '2020-03-29T23:30:00Z', 'extract', 'A81001', TIMESTAMPTZ '2020-06-01T00:00:00Z')`,
      [n],
    );
    await sql.query('BEGIN');
    await sql.query(`SET LOCAL TIME ZONE 'Europe/London'`);
    await new RegistrationsAtSpanEnd1764000056000().up(q());
    await sql.query('COMMIT');
    const { rows } = await sql.query(
      `SELECT ${at} AS at FROM objection_events WHERE nhs_number = $1 AND action = 'register'`,
      [n],
    );
    expect(rows[0].at).toBe('2020-03-29T23:59:59Z');
    const reg = await sql.query(`SELECT active FROM objection_register WHERE nhs_number = $1`, [n]);
    expect(reg.rows[0]?.active).toBe(true);
  });

  it('F2: clocks-back day: the migration does not abort', async () => {
    const n = '9434765870';
    await sql.query(
      `INSERT INTO objection_events (nhs_number, type, action, effective_at, source, practice_ods, recorded_at) VALUES
         ($1, 'type1', 'register', TIMESTAMPTZ '2020-10-25T00:00:00Z', 'extract', 'A81001', TIMESTAMPTZ '2020-12-01T00:00:00Z')`,
      [n],
    );
    await sql.query('BEGIN');
    try {
      await sql.query(`SET LOCAL TIME ZONE 'Europe/London'`);
      await new RegistrationsAtSpanEnd1764000056000().up(q());
      await sql.query('COMMIT');
    } catch (e) {
      await sql.query('ROLLBACK');
      throw e;
    }
    const { rows } = await sql.query(
      `SELECT ${at} AS at, effective_on::text AS on FROM objection_events WHERE nhs_number = $1`,
      [n],
    );
    expect(rows).toEqual([{ at: '2020-10-25T23:59:59Z', on: '2020-10-25' }]);
  });
  // Every effective_at is to the second (migration 1764000048000's trigger cuts it on INSERT; SPEC §2
  // "to the second"). This UPDATE fires no INSERT trigger and copies recorded_at — microseconds and
  // all — for a registration dated the day it was received.
  it('F7: a registration capped at recorded_at is still to the second', async () => {
    const n = '9434765828';
    await sql.query(
      `INSERT INTO objection_events (nhs_number, type, action, effective_at, source, practice_ods, recorded_at) VALUES
         ($1, 'type2', 'register', TIMESTAMPTZ '2020-05-03T00:00:00Z', 'extract', 'A81001', TIMESTAMPTZ '2020-05-03T05:00:00.654321Z')`,
      [n],
    );
    await sql.query('BEGIN');
    await sql.query(`SET LOCAL TIME ZONE 'UTC'`);
    await new RegistrationsAtSpanEnd1764000056000().up(q());
    await sql.query('COMMIT');
    const { rows } = await sql.query(
      `SELECT to_char(effective_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at FROM objection_events WHERE nhs_number = $1`,
      [n],
    );
    expect(rows[0].at).toBe('2020-05-03T05:00:00.000000Z');
  });
});
