import type { Client } from 'pg';
import type { QueryRunner } from 'typeorm';
import { createTestDatabase, TestDatabase } from '@custodian/testing';
import { ObjectionInstants1764000014000 } from '../migrations/1764000014000-objection-instants';

/**
 * Migration 1764000014000 on objections recorded before it (dates only): each event's instant is
 * 00:00:00 UTC of its date, the register keeps its state with the deciding entry's instant, and
 * `objections_as_of` decides by instant with the objection winning an exact tie (taken down to the
 * old shape, history written as the old code did, then up again).
 */
describe('migration: objection events get their instant', () => {
  let db: TestDatabase;
  let sql: Client;
  beforeAll(async () => {
    db = await createTestDatabase();
    sql = await db.superuser();
  });
  afterAll(() => db?.drop());

  it('backfills effective_at at 00:00 UTC, keeps the register, and decides by instant afterwards; down and up again', async () => {
    const m = new ObjectionInstants1764000014000();
    const q = { query: (s: string) => sql.query(s).then((r) => r.rows) } as unknown as QueryRunner;
    await m.down(q);
    const [x, y] = ['9434765919', '9434765870'];
    await sql.query(
      `INSERT INTO objection_events (nhs_number, type, action, effective_on, source)
       VALUES ($1, 'type2', 'register', DATE '2020-01-01', 'extract'),
              ($1, 'type2', 'withdraw', DATE '2020-02-01', 'api'),
              ($2, 'type1', 'register', DATE '2021-03-04', 'api')`,
      [x, y],
    );
    await sql.query(
      `INSERT INTO objection_register (nhs_number, type, active, effective_on)
       VALUES ($1, 'type2', false, DATE '2020-02-01'), ($2, 'type1', true, DATE '2021-03-04')`,
      [x, y],
    );

    await m.up(q);
    const utc = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`;
    const events = await sql.query(
      `SELECT nhs_number, action, ${utc('effective_at')} AS at FROM objection_events ORDER BY id`,
    );
    expect(events.rows.map((r) => [r.nhs_number, r.action, r.at])).toEqual([
      [x, 'register', '2020-01-01T00:00:00Z'],
      [x, 'withdraw', '2020-02-01T00:00:00Z'],
      [y, 'register', '2021-03-04T00:00:00Z'],
    ]);
    const register = await sql.query(
      `SELECT nhs_number, active, ${utc('effective_at')} AS at FROM objection_register ORDER BY nhs_number`,
    );
    expect(register.rows).toEqual([
      { nhs_number: y, active: true, at: '2021-03-04T00:00:00Z' },
      { nhs_number: x, active: false, at: '2020-02-01T00:00:00Z' },
    ]);

    // A row written with its date only (the old way) gets its instant, and one written with its
    // instant gets its date. A withdrawal at y's very instant, recorded later: the objection stands.
    await sql.query(
      `INSERT INTO objection_events (nhs_number, type, action, effective_at, source)
       VALUES ($1, 'type1', 'withdraw', TIMESTAMPTZ '2021-03-04T00:00:00Z', 'extract')`,
      [y],
    );
    const asOf = async () =>
      (await sql.query(`SELECT nhs_number, type FROM objections_as_of(now()) ORDER BY nhs_number`)).rows;
    expect(await asOf()).toEqual([{ nhs_number: y, type: 'type1' }]);
    // x: an objection later that day than the old (date-only) withdrawal decides.
    await sql.query(
      `INSERT INTO objection_events (nhs_number, type, action, effective_at, source)
       VALUES ($1, 'type2', 'register', TIMESTAMPTZ '2020-02-01T15:00:00+01:00', 'extract')`,
      [x],
    );
    const [{ on }] = (
      await sql.query(
        `SELECT to_char(effective_on, 'YYYY-MM-DD') AS on FROM objection_events WHERE nhs_number = $1 ORDER BY id DESC LIMIT 1`,
        [x],
      )
    ).rows;
    expect(on).toBe('2020-02-01');
    expect(await asOf()).toEqual([
      { nhs_number: y, type: 'type1' },
      { nhs_number: x, type: 'type2' },
    ]);
    await expect(
      sql.query(
        `INSERT INTO objection_events (nhs_number, type, action, effective_on, effective_at, source)
         VALUES ($1, 'type2', 'register', DATE '2020-02-02', TIMESTAMPTZ '2020-02-01T23:00:00Z', 'api')`,
        [x],
      ),
    ).rejects.toThrow(/objection_events_effective_agree/);

    await m.down(q);
    await m.up(q);
    expect((await sql.query(`SELECT count(*)::int AS n FROM objection_events`)).rows[0].n).toBe(5);
  });
});
