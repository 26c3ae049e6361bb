import type { Client } from 'pg';
import type { QueryRunner } from 'typeorm';
import { createTestDatabase, TestDatabase } from '@custodian/testing';
import { WithdrawalsAtEnglandMidnight1764000057000 } from '../migrations/1764000057000-withdrawals-at-england-midnight';

/**
 * Migration 1764000057000 on history written by the old intake, which read a date-only withdrawal at
 * 00:00:00 UTC: in British Summer Time it lifted an objection made at 00:30 BST that day. After the
 * migration a summer withdrawal sits at England's midnight (23:00Z the day before, `effective_on`
 * with it), a winter one and an API one stay, and the register keeps the objection. Run under a
 * session time zone far from both, so nothing depends on it.
 */
describe('migration: withdrawals held at UTC midnight move to England’s', () => {
  let db: TestDatabase;
  let sql: Client;
  beforeAll(async () => {
    db = await createTestDatabase();
    sql = await db.superuser();
  });
  afterAll(() => db?.drop());

  it('moves summer extract withdrawals an hour earlier, decides the register again, leaves winter and API ones', async () => {
    const [x, y, z] = ['9434765919', '9434765870', '9434765828'];
    await sql.query(
      `INSERT INTO objection_events (nhs_number, type, action, effective_at, source, practice_ods, recorded_at) VALUES
         ($1, 'type2', 'register', TIMESTAMPTZ '2020-05-02T23:30:00Z', 'extract', 'A81001', TIMESTAMPTZ '2020-06-01T00:00:00Z'),
         ($1, 'type2', 'withdraw', TIMESTAMPTZ '2020-05-03T00:00:00Z', 'extract', 'A81001', TIMESTAMPTZ '2020-06-01T00:00:00Z'),
         ($2, 'type2', 'register', TIMESTAMPTZ '2020-12-02T23:30:00Z', 'extract', 'A81001', TIMESTAMPTZ '2021-01-01T00:00:00Z'),
         ($2, 'type2', 'withdraw', TIMESTAMPTZ '2020-12-03T00:00:00Z', 'extract', 'A81001', TIMESTAMPTZ '2021-01-01T00:00:00Z'),
         ($3, 'type2', 'register', TIMESTAMPTZ '2020-05-02T23:30:00Z', 'api', 'A81001', TIMESTAMPTZ '2020-05-02T23:30:00Z'),
         ($3, 'type2', 'withdraw', TIMESTAMPTZ '2020-05-03T00:00:00Z', 'api', 'A81001', TIMESTAMPTZ '2020-05-03T00:00:00Z')`,
      [x, y, z],
    );
    await sql.query(
      `INSERT INTO objection_register (nhs_number, type, active, effective_on, effective_at, updated_at)
       SELECT n, 'type2', false, DATE '2020-05-03', TIMESTAMPTZ '2020-05-03T00:00:00Z', now() FROM unnest($1::text[]) n`,
      [[x, y, z]],
    );
    const asOf = async () =>
      (await sql.query(`SELECT nhs_number FROM objections_as_of(now()) ORDER BY nhs_number`)).rows.map(
        (r) => r.nhs_number,
      );
    expect(await asOf()).toEqual([]);

    await sql.query(`SET TIME ZONE 'Pacific/Kiritimati'`);
    const q = { query: (s: string) => sql.query(s).then((r) => r.rows) } as unknown as QueryRunner;
    await sql.query('BEGIN');
    await new WithdrawalsAtEnglandMidnight1764000057000().up(q);
    await sql.query('COMMIT');
    await sql.query('RESET TIME ZONE');

    const events = await sql.query(
      `SELECT to_char(effective_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS at, effective_on::text AS on
         FROM objection_events ORDER BY id`,
    );
    expect(events.rows.map((r) => [r.at, r.on])).toEqual([
      ['2020-05-02T23:30:00Z', '2020-05-02'],
      ['2020-05-02T23:00:00Z', '2020-05-02'],
      ['2020-12-02T23:30:00Z', '2020-12-02'],
      ['2020-12-03T00:00:00Z', '2020-12-03'],
      ['2020-05-02T23:30:00Z', '2020-05-02'],
      ['2020-05-03T00:00:00Z', '2020-05-03'],
    ]);
    const register = await sql.query(`SELECT nhs_number, active FROM objection_register ORDER BY nhs_number`);
    expect(register.rows).toEqual([
      { nhs_number: z, active: false },
      { nhs_number: y, active: false },
      { nhs_number: x, active: true },
    ]);
    expect(await asOf()).toEqual([x]);
  });
});
