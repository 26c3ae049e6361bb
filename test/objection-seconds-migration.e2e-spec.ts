import type { Client } from 'pg';
import type { QueryRunner } from 'typeorm';
import { createTestDatabase, TestDatabase } from '@custodian/testing';
import { ObjectionSeconds1764000048000 } from '../migrations/1764000048000-objection-seconds';

/**
 * Migration 1764000048000 on API objections recorded to the microsecond before it: instants are cut
 * to the second, and a withdrawal that the fraction made "later" than its objection in the same
 * second no longer lifts it (SPEC §2: to the second, a tie to the objection), in the register and in
 * what a release reads. Taken down to the old trigger, history written as the old code did, up again.
 */
describe('migration: objection instants to the second', () => {
  let db: TestDatabase;
  let sql: Client;
  beforeAll(async () => {
    db = await createTestDatabase();
    sql = await db.superuser();
  });
  afterAll(() => db?.drop());

  it('cuts held instants to the second, decides the register again, and cuts new ones on insert', async () => {
    const m = new ObjectionSeconds1764000048000();
    const q = { query: (s: string) => sql.query(s).then((r) => r.rows) } as unknown as QueryRunner;
    await m.down(q);
    const [x, y] = ['9434765919', '9434765870'];
    // x: objection at .204, withdrawal at .324 of the same second (the old code: lifted); y: a
    // withdrawal a second later (lifted, before and after).
    await sql.query(
      `INSERT INTO objection_events (nhs_number, type, action, effective_at, source) VALUES
         ($1, 'type2', 'register', TIMESTAMPTZ '2026-12-06T15:05:42.204Z', 'api'),
         ($1, 'type2', 'withdraw', TIMESTAMPTZ '2026-12-06T15:05:42.324Z', 'api'),
         ($2, 'type2', 'register', TIMESTAMPTZ '2026-12-06T15:05:42.900Z', 'api'),
         ($2, 'type2', 'withdraw', TIMESTAMPTZ '2026-12-06T15:05:43.100Z', 'api')`,
      [x, y],
    );
    await sql.query(
      `INSERT INTO objection_register (nhs_number, type, active, effective_on, effective_at, updated_at) VALUES
         ($1, 'type2', false, DATE '2026-12-06', TIMESTAMPTZ '2026-12-06T15:05:42.324Z', now()),
         ($2, 'type2', false, DATE '2026-12-06', TIMESTAMPTZ '2026-12-06T15:05:43.100Z', now())`,
      [x, y],
    );
    const asOf = async () =>
      (await sql.query(`SELECT nhs_number FROM objections_as_of(now()) ORDER BY nhs_number`)).rows;
    expect(await asOf()).toEqual([]);

    await m.up(q);
    const at = `to_char(effective_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
    const events = await sql.query(`SELECT ${at} AS at FROM objection_events ORDER BY id`);
    expect(events.rows.map((r) => r.at)).toEqual([
      '2026-12-06T15:05:42.000000Z',
      '2026-12-06T15:05:42.000000Z',
      '2026-12-06T15:05:42.000000Z',
      '2026-12-06T15:05:43.000000Z',
    ]);
    const register = await sql.query(
      `SELECT nhs_number, active, ${at} AS at FROM objection_register ORDER BY nhs_number`,
    );
    expect(register.rows).toEqual([
      { nhs_number: y, active: false, at: '2026-12-06T15:05:43.000000Z' },
      { nhs_number: x, active: true, at: '2026-12-06T15:05:42.000000Z' },
    ]);
    expect(await asOf()).toEqual([{ nhs_number: x }]);
    // A new row is cut on insert, whatever the session's time zone.
    await sql.query(`SET TIME ZONE 'Asia/Kathmandu'`);
    await sql.query(
      `INSERT INTO objection_events (nhs_number, type, action, effective_at, source)
       VALUES ($1, 'type1', 'register', TIMESTAMPTZ '2026-12-06T23:59:59.999999+05:45', 'api')`,
      [y],
    );
    await sql.query(`RESET TIME ZONE`);
    const last = await sql.query(
      `SELECT ${at} AS at, to_char(effective_on, 'YYYY-MM-DD') AS on FROM objection_events ORDER BY id DESC LIMIT 1`,
    );
    expect(last.rows[0]).toEqual({ at: '2026-12-06T18:14:59.000000Z', on: '2026-12-06' });
  });
});
