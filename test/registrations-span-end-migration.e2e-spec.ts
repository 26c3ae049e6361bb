import type { Client } from 'pg';
import type { QueryRunner } from 'typeorm';
import { createTestDatabase, TestDatabase } from '@custodian/testing';
import { RegistrationsAtSpanEnd1764000056000 } from '../migrations/1764000056000-registrations-at-span-end';

/**
 * Migration 1764000056000 on history written by the old intake, which read a date-only registration
 * at 00:00:00 UTC: a withdrawal later that day lifted it. After the migration the registration sits
 * at the day's last second (never after it was recorded), the register and what a release reads
 * keep the objection, and an API entry (its instant the time received) is left alone.
 */
describe('migration: registrations held at a day’s first second', () => {
  let db: TestDatabase;
  let sql: Client;
  beforeAll(async () => {
    db = await createTestDatabase();
    sql = await db.superuser();
  });
  afterAll(() => db?.drop());

  it('moves extract registrations at midnight to the day’s end, decides the register again, leaves API entries', async () => {
    const [x, y, z] = ['9434765919', '9434765870', '9434765828'];
    await sql.query(
      `INSERT INTO objection_events (nhs_number, type, action, effective_at, source, practice_ods, recorded_at) VALUES
         ($1, 'type2', 'register', TIMESTAMPTZ '2020-05-03T00:00:00Z', 'extract', 'A81001', TIMESTAMPTZ '2020-06-01T00:00:00Z'),
         ($1, 'type2', 'withdraw', TIMESTAMPTZ '2020-05-03T10:00:00Z', 'extract', 'A81001', TIMESTAMPTZ '2020-06-01T00:00:00Z'),
         ($2, 'type2', 'register', TIMESTAMPTZ '2020-05-03T00:00:00Z', 'extract', 'A81001', TIMESTAMPTZ '2020-05-03T05:00:00Z'),
         ($3, 'type2', 'register', TIMESTAMPTZ '2020-05-03T00:00:00Z', 'api', 'A81001', TIMESTAMPTZ '2020-05-03T00:00:00Z'),
         ($3, 'type2', 'withdraw', TIMESTAMPTZ '2020-05-03T10:00:00Z', 'api', 'A81001', TIMESTAMPTZ '2020-05-03T10:00:00Z')`,
      [x, y, z],
    );
    await sql.query(
      `INSERT INTO objection_register (nhs_number, type, active, effective_on, effective_at, updated_at) VALUES
         ($1, 'type2', false, DATE '2020-05-03', TIMESTAMPTZ '2020-05-03T10:00:00Z', now()),
         ($2, 'type2', true, DATE '2020-05-03', TIMESTAMPTZ '2020-05-03T00:00:00Z', now()),
         ($3, 'type2', false, DATE '2020-05-03', TIMESTAMPTZ '2020-05-03T10:00:00Z', now())`,
      [x, y, z],
    );
    const asOf = async () =>
      (await sql.query(`SELECT nhs_number FROM objections_as_of(now()) ORDER BY nhs_number`)).rows.map(
        (r) => r.nhs_number,
      );
    expect(await asOf()).toEqual([y]);

    const q = { query: (s: string) => sql.query(s).then((r) => r.rows) } as unknown as QueryRunner;
    await sql.query('BEGIN');
    await new RegistrationsAtSpanEnd1764000056000().up(q);
    await sql.query('COMMIT');

    const at = `to_char(effective_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`;
    const events = await sql.query(
      `SELECT nhs_number, source, action, ${at} AS at FROM objection_events ORDER BY id`,
    );
    expect(events.rows.map((r) => r.at)).toEqual([
      '2020-05-03T23:59:59Z',
      '2020-05-03T10:00:00Z',
      '2020-05-03T05:00:00Z',
      '2020-05-03T00:00:00Z',
      '2020-05-03T10:00:00Z',
    ]);
    const register = await sql.query(`SELECT nhs_number, active FROM objection_register ORDER BY nhs_number`);
    expect(register.rows).toEqual([
      { nhs_number: z, active: false },
      { nhs_number: y, active: true },
      { nhs_number: x, active: true },
    ]);
    expect((await asOf()).sort()).toEqual([x, y].sort());
  });
});
