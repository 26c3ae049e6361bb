/**
 * `differencing-guard`: the record-level differencing guard's statements (libs/release
 * release-ledger.sql.ts, #27) on a synthetic ledger, where the release benchmark's bid has too few
 * releases and persons to show them: `--releases` earlier releases of one bid, `--persons` persons
 * each (1% leaving and 1% joining per release; every leaver in the `withheld` set from then on), and
 * the working set of the next release (1% more gone, 1% new). Each run is one guard as it goes when
 * nothing needs covering (the usual case at scale) — the last release's withheld kept out, this
 * release's sets, both differences against the last release, the leaving side against every earlier
 * one, the ledger written — in a transaction rolled back. ratio = the statements of the guard before
 * fix 37 (all but `LEFT_SINCE`) over all of them; `left_since_per_release_s` the comparison's cost per
 * earlier release. The tables are plain ones in a database of their own (no releases behind them).
 *
 *   node dist/bench/differencing-guard.js --persons 1000000 --releases 5 [--runs 3]   (DATABASE_URL or embedded)
 */
import { Client } from 'pg';
import * as S from '../libs/release/src/release-ledger.sql';
import { argValue, benchServer, report } from './common';

const WITHHELD = 'withheld_for_difference';
const id = (r: number) => `00000000-0000-0000-0000-${String(r).padStart(12, '0')}`;

async function ledgerDatabase(baseUrl: string, persons: number, releases: number): Promise<string> {
  const name = `custodian_bench_diff_${persons}_${releases}`;
  const url = Object.assign(new URL(baseUrl), { pathname: `/${name}` }).toString();
  const admin = new Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    if ((await admin.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [name])).rowCount) return url;
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const c = new Client({ connectionString: url });
  await c.connect();
  const step = Math.max(1, Math.floor(persons / 100));
  const first = 9000000000;
  try {
    // As migration 1764000049000 makes it, without the foreign key (no releases here).
    await c.query(`CREATE TABLE release_ledger_members (
      release_id uuid NOT NULL, state text NOT NULL, part smallint NOT NULL, nhs bigint[] NOT NULL,
      PRIMARY KEY (release_id, state, part))`);
    await c.query(`ALTER TABLE release_ledger_members ALTER COLUMN nhs SET STORAGE EXTERNAL`);
    for (let r = 1; r <= releases; r++) {
      await c.query(
        `INSERT INTO release_ledger_members
         SELECT $1::uuid, 'released', (n % 64)::smallint, array_agg(n)
           FROM generate_series($2::bigint + 1, $2::bigint + $3) n GROUP BY n % 64`,
        [id(r), first + r * step, persons],
      );
      await c.query(
        `INSERT INTO release_ledger_members
         SELECT $1::uuid, 'withheld', (n % 64)::smallint, array_agg(n)
           FROM generate_series($2::bigint + 1, $2::bigint + $3) n GROUP BY n % 64`,
        [id(r), first, r * step],
      );
    }
    // The working set (`rp`, a view of the preparation's person table in the engine).
    await c.query(
      `CREATE UNLOGGED TABLE rp AS
       SELECT n::text AS nhs, n AS nk, NULL::text AS excl, 1 AS files
         FROM generate_series($1::bigint + 1, $1::bigint + $2) n`,
      [first + (releases + 1) * step, persons],
    );
    await c.query(`ANALYZE release_ledger_members`);
    await c.query(`ANALYZE rp`);
  } finally {
    await c.end();
  }
  return url;
}

async function main(): Promise<void> {
  const persons = Number(argValue('persons', '1000000'));
  const releases = Math.max(2, Number(argValue('releases', '5')));
  const runs = Number(argValue('runs', '3'));
  const server = process.env.DATABASE_URL
    ? { url: process.env.DATABASE_URL, stop: async () => undefined }
    : await benchServer();
  try {
    const url = await ledgerDatabase(server.url, persons, releases);
    const c = new Client({ connectionString: url });
    await c.connect();
    const prev = id(releases);
    const before = Array.from({ length: releases - 1 }, (_, i) => id(releases - 1 - i));
    const best: Record<string, number> = {};
    let left = 0;
    for (let run = 0; run < runs; run++) {
      await c.query('BEGIN');
      const time = async (step: string, sql: string, params: unknown[] = []) => {
        const t0 = process.hrtime.bigint();
        const rows = (await c.query(sql, params)).rows;
        const s = Number(process.hrtime.bigint() - t0) / 1e9;
        best[step] = Math.min(best[step] ?? Infinity, s);
        return rows;
      };
      await time('still_s', S.STILL_WITHHELD, [WITHHELD, prev]);
      await time('current_s', S.CURRENT);
      [{ left }] = await time('differences_s', S.DIFFERENCES, [prev]);
      await time('left_since_s', S.LEFT_SINCE, [before]);
      await time('write_s', S.WRITE_LEDGER, [id(releases + 1), WITHHELD, prev, []]);
      await c.query('ROLLBACK');
    }
    await c.end();
    const all = Object.values(best).reduce((a, b) => a + b, 0);
    report('differencing-guard', (all - best.left_since_s) / all, {
      persons,
      releases,
      runs,
      left,
      guard_s: all,
      ...best,
      left_since_per_release_s: best.left_since_s / before.length,
    });
  } finally {
    await server.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
