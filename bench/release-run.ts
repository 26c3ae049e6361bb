/**
 * Runs one release the way production does — worker processes (`dist/apps/worker`) picking up the
 * `release.run` job and its shards — and reports its time, the engine's phase timings and the peak
 * RSS of every Node process involved. Shared by the release, anonymise and scale-out benchmarks.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import PgBoss from 'pg-boss';
import { Client } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { ReleaseSpec } from '@custodian/release';
import { queuedReleaseRow } from '../libs/release/src/release.types';
import { ReleaseKeys } from '../libs/release/src/keys';
import {
  argValue,
  BENCH_ENV,
  machineBusySeconds,
  peakRssMb,
  processCpuSeconds,
  startProcess,
} from './common';
import { BENCH_BID } from './dataset';

export interface ReleaseRun {
  seconds: number;
  state: string;
  failure?: string;
  shards: number;
  timings: { prepareMs: number; shardsMs: number; assembleMs: number; slowSteps?: [string, number][] };
  files: { name: string; rows: number; bytes: number }[];
  /** Peak RSS (VmHWM) of each worker process, MB. */
  workerPeakMb: number[];
  /** CPU-seconds the machine was busy during the release (PostgreSQL, workers, everything). */
  cpu: number;
  /** CPU-seconds each worker process used (gzip, SHA-256, piping; the rest is PostgreSQL). */
  workerCpu: number[];
  /** Seconds the independent verifier took inside the release (the manifest's `verification.ms`). */
  verifySeconds: number;
  /** The release's exact figures for staff (`releases.excluded`: k- and kᵐ-anonymity among them). */
  excluded: Record<string, unknown> | null;
  /** Seconds of the risk report, inside `assembleMs` with the verification (`timings.riskMs`). */
  riskSeconds: number;
  /**
   * What the release read of the source tables of its per-event files (issue #22, target 1): the
   * shards' own transactions (`release_shards.timings`, the engine's counters), the whole release
   * (the tables' statistics before and after, every phase and process), and the tables' size.
   */
  reads: {
    shards: TableReads;
    release: TableReads;
    tables: { pages: number; rows: number };
  };
}

/** Heap blocks, index blocks and rows read (sequential scans' rows plus index fetches). */
export interface TableReads {
  heap: number;
  index: number;
  rows: number;
}

const SOURCE_TABLE = { gp: 'gp_events', hes: 'hes_episodes', social_care: 'social_care_records' } as const;

/** The tables' cumulative statistics (flushed by backends when idle or on exit). */
async function tableReads(db: Client, tables: string[]): Promise<TableReads> {
  const {
    rows: [r],
  } = await db.query(
    `SELECT coalesce(sum(io.heap_blks_read + io.heap_blks_hit), 0)::bigint AS heap,
            coalesce(sum(coalesce(io.idx_blks_read, 0) + coalesce(io.idx_blks_hit, 0)), 0)::bigint AS idx,
            coalesce(sum(st.seq_tup_read + coalesce(st.idx_tup_fetch, 0)), 0)::bigint AS tup
       FROM pg_statio_user_tables io JOIN pg_stat_user_tables st USING (relid)
      WHERE io.relname = ANY($1::text[])`,
    [tables],
  );
  return { heap: Number(r.heap), index: Number(r.idx), rows: Number(r.tup) };
}

export const PSEUDONYMISED: Pick<ReleaseSpec, 'tier' | 'legalBasis' | 'datasets'> = {
  tier: 'pseudonymised',
  legalBasis: 's251',
  datasets: [
    { dataset: 'gp', fields: ['nhs_number', 'date_of_birth', 'postcode', 'sex', 'code', 'event_date'] },
    { dataset: 'hes', fields: ['nhs_number', 'admission_date', 'diagnosis_icd10'] },
  ],
};

/** The engine's tuning settings given on the command line (`--gzip-level 3 --max-shards 2 …`). */
export function releaseEnvFromArgs(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [arg, name] of [
    ['gzip-level', 'RELEASE_GZIP_LEVEL'],
    ['shard-rows', 'RELEASE_SHARD_ROWS'],
    ['max-shards', 'RELEASE_MAX_SHARDS'],
  ]) {
    const v = argValue(arg);
    if (v) env[name] = v;
  }
  return env;
}

export async function runRelease(
  url: string,
  workers: number,
  release: Pick<ReleaseSpec, 'tier' | 'legalBasis' | 'datasets'> &
    Partial<Pick<ReleaseSpec, 'cohort' | 'bidId'>>,
  env: Record<string, string> = {},
): Promise<ReleaseRun> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'custodian-bench-release-'));
  const procs = [];
  const db = new Client({ connectionString: url });
  await db.connect();
  const boss = new PgBoss({ connectionString: url, schema: 'pgboss', max: 2 });
  const tables = release.datasets.map((d) => SOURCE_TABLE[d.dataset]);
  let result: ReleaseRun | undefined;
  let before: TableReads | undefined;
  try {
    for (let i = 0; i < workers; i++)
      procs.push(
        await startProcess('worker', url, {
          DATA_DIR: dataDir,
          CUSTODIAN_STATE_DIR: dataDir,
          WORKER_CONCURRENCY: '1',
          LOG_LEVEL: 'warn',
          ...env,
        }),
      );
    await boss.start();
    const id = randomUUID();
    const keys = new ReleaseKeys({ pseudonymKeySecret: BENCH_ENV.PSEUDONYM_KEY_SECRET } as never);
    const spec: ReleaseSpec = {
      organisationId: BENCH_BID.organisationId,
      agreementReference: 'BENCH',
      recipients: [BENCH_BID.userId],
      requestedBy: BENCH_BID.userId,
      ...release,
      bidId: release.bidId ?? BENCH_BID.bidId,
      cohort: release.cohort ?? {},
    };
    await db.query(...queuedReleaseRow(id, spec, spec.requestedBy, keys.newTokenSeed(id)));
    before = await tableReads(db, tables);
    const w0 = procs.map((p) => processCpuSeconds(p.child.pid!));
    const c0 = machineBusySeconds();
    const t0 = process.hrtime.bigint();
    await boss.send('release.run', { releaseId: id });
    let row: {
      state: string;
      failure_reason: string | null;
      work: { shards?: number; timings?: ReleaseRun['timings'] } | null;
      excluded: Record<string, unknown> | null;
    };
    for (;;) {
      row = (await db.query(`SELECT state, failure_reason, work, excluded FROM releases WHERE id = $1`, [id]))
        .rows[0];
      if (row.state === 'completed' || row.state === 'failed') break;
      // Every worker gone (a crash, the heap's limit): nobody will finish the release — say why.
      if (procs.every((p) => p.child.exitCode !== null || p.child.signalCode !== null)) {
        for (const p of procs) console.error(p.output().slice(-4000));
        throw new Error(`every worker exited while the release was ${row.state}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = machineBusySeconds() - c0;
    const workerCpu = procs.map((p, i) => processCpuSeconds(p.child.pid!) - w0[i]);
    // The preparation's statements over 100 ms (opening words only), for tuning.
    for (const [step, ms] of row.work?.timings?.slowSteps ?? []) console.log(`  prepare ${ms} ms  ${step}`);
    if (row.state !== 'completed') for (const p of procs) console.error(p.output().slice(-4000));
    const files = (
      await db.query(
        `SELECT name, rows::bigint AS rows, bytes::bigint AS bytes FROM release_files WHERE release_id = $1 ORDER BY name`,
        [id],
      )
    ).rows.map((f) => ({ name: f.name, rows: Number(f.rows), bytes: Number(f.bytes) }));
    // The verifier's own time, as the engine recorded it in the manifest (SPEC §5 step 6).
    let verifySeconds = NaN;
    if (row.state === 'completed') {
      const manifest = JSON.parse(readFileSync(path.join(dataDir, id, 'manifest.json'), 'utf8')) as {
        verification?: { ms?: number };
      };
      verifySeconds = (manifest.verification?.ms ?? NaN) / 1000;
    }
    const [shardReads] = (
      await db.query(
        `SELECT coalesce(sum((timings ->> 'readHeapBlocks')::bigint), 0)::bigint AS heap,
                coalesce(sum((timings ->> 'readIndexBlocks')::bigint), 0)::bigint AS idx,
                coalesce(sum((timings ->> 'readRows')::bigint), 0)::bigint AS tup
           FROM release_shards WHERE release_id = $1 AND state = 'done'`,
        [id],
      )
    ).rows;
    const [size] = (
      await db.query(
        `SELECT coalesce(sum(pg_relation_size(c.oid) / current_setting('block_size')::int), 0)::bigint AS pages,
                coalesce(sum(greatest(c.reltuples, 0)), 0)::bigint AS rows
           FROM pg_class c WHERE c.oid = ANY($1::regclass[])`,
        [tables],
      )
    ).rows;
    result = {
      riskSeconds: Number((row.work?.timings as { riskMs?: number } | undefined)?.riskMs ?? NaN) / 1000,
      reads: {
        shards: {
          heap: Number(shardReads.heap),
          index: Number(shardReads.idx),
          rows: Number(shardReads.tup),
        },
        release: { heap: NaN, index: NaN, rows: NaN },
        tables: { pages: Number(size.pages), rows: Number(size.rows) },
      },
      seconds,
      verifySeconds,
      state: row.state,
      failure: row.failure_reason ?? undefined,
      shards: row.work?.shards ?? 0,
      timings: row.work?.timings ?? { prepareMs: NaN, shardsMs: NaN, assembleMs: NaN },
      files,
      workerPeakMb: procs.map((p) => peakRssMb(p.child.pid)),
      cpu,
      workerCpu,
      excluded: row.excluded,
    };
  } finally {
    for (const p of procs) await p.stop();
    await boss.stop({ graceful: false }).catch(() => undefined);
    // The workers' backends have flushed their statistics on exit (give them a moment to end).
    if (result && before) {
      await new Promise((r) => setTimeout(r, 500));
      const after = await tableReads(db, tables);
      result.reads.release = {
        heap: after.heap - before.heap,
        index: after.index - before.index,
        rows: after.rows - before.rows,
      };
    }
    await db.end();
    // KEEP_BENCH_DIR=1 keeps the release's files (to run or profile the verifier on them alone).
    if (!process.env.KEEP_BENCH_DIR) rmSync(dataDir, { recursive: true, force: true });
    else console.log(`release files kept in ${dataDir}`);
  }
  return result!;
}

/**
 * Each SELECT COPYed TO STDOUT on its own connection, all at once, bytes discarded: wall seconds,
 * and the CPU-seconds the machine was busy meanwhile (PostgreSQL and this process reading).
 */
export async function parallelCopy(
  url: string,
  selects: string[],
): Promise<{ seconds: number; cpu: number }> {
  const c0 = machineBusySeconds();
  const t0 = process.hrtime.bigint();
  await Promise.all(
    selects.map(async (select) => {
      const c = new Client({ connectionString: url });
      await c.connect();
      try {
        await pipeline(
          c.query(copyTo(`COPY (${select}) TO STDOUT WITH (FORMAT csv, HEADER true)`)),
          new Writable({
            write(_chunk, _enc, cb) {
              cb();
            },
          }),
        );
      } finally {
        await c.end();
      }
    }),
  );
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, cpu: machineBusySeconds() - c0 };
}
