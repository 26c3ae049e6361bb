import type { Client } from 'pg';
import type { QueryRunner } from 'typeorm';
import { createTestDatabase, TestDatabase } from '@custodian/testing';
import { ReleaseLedgerMembers1764000049000 } from '../migrations/1764000049000-release-ledger-members';

/**
 * Migration 1764000049000 on a ledger written as rows (one per person per release): each release's
 * persons are carried over into its sets, by state and part, none lost or moved between states;
 * a release deleted takes its sets with it; and down gives the rows back.
 */
describe('migration: the differencing ledger as sets', () => {
  let db: TestDatabase;
  let sql: Client;
  beforeAll(async () => {
    db = await createTestDatabase();
    sql = await db.superuser();
  });
  afterAll(() => db?.drop());

  it('carries every person of every release over, in their state', async () => {
    const m = new ReleaseLedgerMembers1764000049000();
    const q = { query: (s: string) => sql.query(s).then((r) => r.rows) } as unknown as QueryRunner;
    await m.down(q);
    const { rows: rels } = await sql.query(
      `INSERT INTO releases (bid_id, tier, legal_basis, spec, requested_by, token_seed_enc)
       SELECT gen_random_uuid(), 'pseudonymised', 's251', '{}', gen_random_uuid(), '\\x00'
         FROM generate_series(1, 2) RETURNING id`,
    );
    const [a, b] = rels.map((r: { id: string }) => r.id);
    // a: 300 released, 12 withheld (some sharing a part with the released); b: 5 released, and a
    // damaged number (not ten digits; the engine wrote any number it held), kept as a negative
    // number that matches no one later: counted as a person who left, never lost.
    await sql.query(
      `INSERT INTO release_ledger_persons (release_id, nhs, state)
       SELECT $1::uuid, (9400000000 + g)::text, CASE WHEN g % 25 = 0 THEN 'withheld' ELSE 'released' END
         FROM generate_series(1, 312) g
       UNION ALL SELECT $2::uuid, (9500000000 + g)::text, 'released' FROM generate_series(1, 5) g
       UNION ALL SELECT $2::uuid, '95000X0001', 'released'`,
      [a, b],
    );
    const before = (
      await sql.query(
        `SELECT release_id::text, nhs::text, state FROM release_ledger_persons
          WHERE nhs ~ '^[0-9]{10}$' ORDER BY 1, 2`,
      )
    ).rows;
    await m.up(q);
    const sets = `SELECT m.release_id::text, CASE WHEN u.n < 0 THEN u.n::text ELSE lpad(u.n::text, 10, '0') END AS nhs, m.state
                    FROM release_ledger_members m CROSS JOIN LATERAL unnest(m.nhs) AS u(n)`;
    const after = (await sql.query(`${sets} ORDER BY 1, 2`)).rows;
    expect(after.filter((r: { nhs: string }) => /^\d{10}$/.test(r.nhs))).toEqual(before);
    expect(before).toHaveLength(317);
    expect(after.filter((r: { nhs: string }) => !/^\d{10}$/.test(r.nhs))).toEqual([
      { release_id: b, nhs: expect.stringMatching(/^-\d+$/) as unknown as string, state: 'released' },
    ]);
    const { rows: parts } = await sql.query(
      `SELECT count(*)::int AS n FROM release_ledger_members m
        WHERE EXISTS (SELECT 1 FROM unnest(m.nhs) x WHERE ((x % 64) + 64) % 64 <> m.part)`,
    );
    expect(parts[0].n).toBe(0);
    await sql.query(`DELETE FROM releases WHERE id = $1`, [b]);
    expect((await sql.query(`SELECT DISTINCT release_id::text FROM release_ledger_members`)).rows).toEqual([
      { release_id: a },
    ]);
    // And back: the rows as they were (of the release kept).
    await m.down(q);
    expect(
      (await sql.query(`SELECT release_id::text, nhs::text, state FROM release_ledger_persons ORDER BY 1, 2`))
        .rows,
    ).toEqual(before.filter((r: { release_id: string }) => r.release_id === a));
    await m.up(q);
  });
});
