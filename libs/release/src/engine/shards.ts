import { PATIENTS_SOURCE } from '@custodian/practices';
import { rename } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { LatticeNode } from '../k-anonymity';
import { abandonConnection, copyQueryToGzip } from '../release-files';
import {
  DATASET_SQL,
  datasetSelect,
  isPerEvent,
  needsSourceRowKey,
  orderKeyLiteral,
  SOURCE_ROW_KEY_TABLE,
} from '../release-sql';
import { hasPersonColumn, installRowOrderKey, needsRowOrderKey, shuffleRange } from '../row-order';
import { shardBounds } from '../shard-bounds';
import { claimShard, keepClaim, releaseClaim } from '../shard-lease';
import { RELEASE_SHARD_QUEUE, ReleaseSpec } from '../release.types';
import { riskColumns, shardRiskTally } from '../risk-report';
import {
  buildDir,
  checkSnapshotId,
  ClaimedRelease,
  EngineContext,
  enterStage,
  levelsOf,
  OUTPUT_FORMAT,
  rangeOf,
  releaseDir,
  shardFile,
  stillCoordinating,
  withClient,
  workTables,
} from './context';

/**
 * Hash and sort memory of a shard's per-event files (transaction-local): at the default 4 MB the
 * hash of the shard's persons is split into batches and the sort spills; more than this bought
 * nothing (docs/BENCHMARKS.md).
 */
const SHARD_WORK_MEM = '64MB';

/**
 * A shard whose persons are fewer than this share of all patients finds their rows person by
 * person through the event tables' patient indexes (`DatasetSql.lookupFrom`) instead of scanning
 * the tables (issue #22: a small cohort's release reads what it releases; docs/BENCHMARKS.md).
 */
const LOOKUP_SHARE = 0.25;

const MIN_BIGINT = -(2n ** 63n);
const MAX_BIGINT = 2n ** 63n - 1n;

/** What the shards built: their count, each shard's claimed files, and rows per dataset. */
export type ShardParts = Awaited<ReturnType<typeof buildShards>>;

/**
 * Splits the persons (ordered by `okey`, their identifier's order) into contiguous key ranges
 * of about RELEASE_SHARD_ROWS output rows, asks other workers to help (`release.shard`), builds
 * shards itself until none is left, and waits for shards other workers hold. A shard whose worker
 * died or stalled (its claim's lock freed, or its lease lapsed: shard-lease.ts) is built again by
 * whoever comes next.
 */
export async function buildShards(
  ctx: EngineContext,
  rel: ClaimedRelease,
  snapshot: string,
  prepared: { estimated: number; persons: number },
  levels: LatticeNode,
) {
  const work = workTables(rel.id);
  const wanted = Math.max(
    1,
    Math.min(
      ctx.config.releaseMaxShards,
      Math.ceil(prepared.estimated / ctx.config.releaseShardRows),
      prepared.persons,
    ),
  );
  const build = rel.attempts;
  // Shard i holds the persons whose order key lies in [bound i, bound i+1), the ends open. The
  // bounds are exact quantiles of the included persons' keys (shard-bounds.ts): the same data
  // gives the same shards, hence the same gzip members and the same bytes (docs/RELEASE.md).
  // Ties in the key never straddle two shards.
  const bounds = await shardBounds(ctx.db, work.rp, wanted);
  const shards = bounds.length + 1;
  await ctx.db.transaction(async (tx) => {
    const lows = [MIN_BIGINT, ...bounds];
    const highs = [...lows.slice(1).map((b) => b - 1n), MAX_BIGINT];
    await tx.query(`DELETE FROM release_shards WHERE release_id = $1`, [rel.id]);
    await tx.query(
      `INSERT INTO release_shards (release_id, build, shard, first_person, last_person)
       SELECT $1, $2, s::int - 1, lo, hi FROM unnest($3::bigint[], $4::bigint[]) WITH ORDINALITY t(lo, hi, s)`,
      [rel.id, build, lows.map(String), highs.map(String)],
    );
    await tx.query(`UPDATE releases SET work = $2 WHERE id = $1`, [
      rel.id,
      JSON.stringify({ build, snapshot, shards, levels }),
    ]);
  });
  enterStage(rel, 'shards: asking other workers');
  for (let i = 1; i < shards; i++)
    await ctx.jobs.send(RELEASE_SHARD_QUEUE, { releaseId: rel.id, build }, { retryLimit: 2 });
  for (;;) {
    enterStage(rel, 'shards: building');
    const did = await helpShards(ctx, rel.id, build);
    const pending: { n: string }[] = await ctx.db.query(
      `SELECT count(*)::bigint AS n FROM release_shards WHERE release_id = $1 AND build = $2 AND state <> 'done'`,
      [rel.id, build],
    );
    if (Number(pending[0].n) === 0) break;
    if (!did) {
      enterStage(rel, 'shards: waiting for other workers');
      await stillCoordinating(ctx.db, rel);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const done: { shard: number; claim: number; rows: Record<string, number> }[] = await ctx.db.query(
    `SELECT shard, claim, rows FROM release_shards WHERE release_id = $1 AND build = $2 ORDER BY shard`,
    [rel.id, build],
  );
  const rows: Record<string, number> = {};
  for (const s of done) for (const [d, r] of Object.entries(s.rows)) rows[d] = (rows[d] ?? 0) + r;
  return { shards, files: done.map((s) => ({ shard: s.shard, claim: s.claim })), rows };
}

/**
 * Builds whatever shards of the release's current build are not done and not held by another
 * worker. Called by the coordinator and by the `release.shard` job in any worker process.
 * Returns whether it built any.
 */
export async function helpShards(ctx: EngineContext, releaseId: string, build: number): Promise<boolean> {
  const [rel] = await ctx.db.query(
    `SELECT id, spec, work FROM releases WHERE id = $1 AND state = 'running' AND (work ->> 'build')::int = $2`,
    [releaseId, build],
  );
  if (!rel) return false; // finished, failed, or a newer build has started
  const shards: { shard: number; first_person: string; last_person: string }[] = await ctx.db.query(
    `SELECT shard, first_person, last_person FROM release_shards
      WHERE release_id = $1 AND build = $2 AND state <> 'done' ORDER BY shard`,
    [releaseId, build],
  );
  let did = false;
  for (const s of shards)
    if (
      await runShard(
        ctx,
        rel.id,
        rel.spec,
        rel.work.snapshot,
        levelsOf(rel.spec, rel.work),
        build,
        s.shard,
        s.first_person,
        s.last_person,
      )
    )
      did = true;
  return did;
}

async function runShard(
  ctx: EngineContext,
  releaseId: string,
  spec: ReleaseSpec,
  snapshot: string,
  levels: LatticeNode,
  build: number,
  shard: number,
  first: string,
  last: string,
): Promise<boolean> {
  const work = workTables(releaseId);
  return withClient(ctx.db, async (client) => {
    // A numbered, leased claim (shard-lease.ts): a claimant that dies or stalls loses the shard.
    const ref = { releaseId, build, shard };
    const lease = ctx.config.releaseShardLeaseSeconds;
    const claim = await claimShard(client, ref, `${hostname()}:${process.pid}`.slice(0, 100), lease);
    if (claim === undefined) return false;
    // Taken over while this one stalled: its COPY is ended, and its `done` below is refused.
    const stopKeeping = keepClaim(ctx.db, ref, claim, lease, () => abandonConnection(client));
    try {
      const dir = path.join(releaseDir(ctx.config, releaseId), buildDir(build));
      const counts: Record<string, number> = {};
      const timings: Record<string, number> = {};
      let mark = Date.now();
      const lap = (step: string) => {
        const now = Date.now();
        timings[step] = now - mark;
        mark = now;
      };
      const shape = { tier: spec.tier, range: rangeOf(spec), levels };
      const perEvent = (d: ReleaseSpec['datasets'][number]) => isPerEvent(d.dataset, d.fields);
      // The row-order key (row-order.ts); files without a person column: a range of its row hash.
      const rowOrderKey = needsRowOrderKey(spec.datasets, spec.tier)
        ? await ctx.keys.rowOrderKey(ctx.db, releaseId)
        : undefined;
      const shuffle = await shuffleRange(ctx.db, spec.datasets, ref);
      const shuffleOf = (d: ReleaseSpec['datasets'][number]) =>
        hasPersonColumn(d.fields) ? undefined : shuffle;
      const writeFile = async (d: ReleaseSpec['datasets'][number], select: string) => {
        const file = path.join(dir, shardFile(d.dataset, shard, claim));
        // The risk report's figures of this part of the file, tallied from its CSV on the way to
        // gzip (risk-report.ts): no file is read back once the release is built.
        const risk =
          spec.tier === 'aggregate'
            ? undefined
            : shardRiskTally(
                (sql, params) => ctx.db.query(sql, params),
                work.risk,
                { build, shard, claim },
                d.dataset,
                riskColumns(spec.tier, d.dataset, d.fields),
              );
        const w = await copyQueryToGzip(client, select, `${file}.partial`, {
          header: false,
          level: ctx.config.releaseGzipLevel,
          tap: risk?.tap,
        });
        await risk?.finish(w.rows);
        await rename(`${file}.partial`, file);
        counts[d.dataset] = w.rows;
        lap(`${d.dataset}Ms`);
      };
      try {
        // Files of a row per person read only the committed working set (fixed once prepared,
        // k-anonymity's suppression included): no snapshot and no copy of the slice, rows in
        // `okey` order. A stale helper of an older build could read a newer build's table here;
        // its files go to the older build's directory and its shard row no longer exists, so
        // nothing of it is used.
        for (const d of spec.datasets.filter((x) => !perEvent(x))) {
          await client.query(`BEGIN`);
          await client.query(OUTPUT_FORMAT);
          // The `okey` index gives the file's order without a sort; the shards are the
          // parallelism (a parallel scan would need a sort to merge).
          await client.query(`SET LOCAL max_parallel_workers_per_gather = 0`);
          if (shuffleOf(d)) await installRowOrderKey(client, rowOrderKey!);
          await writeFile(d, datasetSelect(d.dataset, d.fields, shape, { work, first, last }, shuffleOf(d)));
          await client.query('COMMIT');
        }
        const events = spec.datasets.filter(perEvent);
        if (events.length) {
          // Room for the shard's temp tables in memory (allowed only before a session's first
          // temp table; a pooled session that already has it keeps the value it set then).
          // Only a session that never made a temp table may change it: asking first keeps
          // PostgreSQL's "invalid value for parameter temp_buffers" ERROR out of its log.
          const [{ fresh }] = (await client.query(`SELECT pg_my_temp_schema() = 0 AS fresh`)).rows;
          if (fresh) await client.query(`SET temp_buffers = '64MB'`).catch(() => undefined);
          // Keyed source row keys (epikey): the key read before the snapshot, held in this
          // transaction only (SOURCE_ROW_KEY_TABLE).
          const rowKey = needsSourceRowKey(spec.tier, events)
            ? await ctx.keys.sourceRowKey(ctx.db, spec.tier, spec.bidId, releaseId)
            : undefined;
          await client.query(`BEGIN ISOLATION LEVEL REPEATABLE READ`);
          // The coordinator's snapshot: every shard reads the data exactly as the working set saw it.
          await client.query(`SET TRANSACTION SNAPSHOT '${checkSnapshotId(snapshot)}'`);
          await client.query(OUTPUT_FORMAT);
          await client.query(`SELECT set_config('work_mem', $1, true)`, [SHARD_WORK_MEM]);
          const readsBefore = await sourceReads(client, events);
          // The working set was committed after that snapshot, so this transaction cannot see its
          // rows: the shard's slice is piped into temp tables (bytes only, never parsed here).
          // A shuffled file's shard is a range of its rows' hash: it needs every included person.
          const whole = events.some((d) => shuffleOf(d));
          const persons = whole
            ? `SELECT * FROM ${work.rp} WHERE excl IS NULL`
            : `SELECT * FROM ${work.rp} WHERE okey BETWEEN ${orderKeyLiteral(first)} AND ${orderKeyLiteral(last)} AND excl IS NULL`;
          // Few persons: their rows by index lookups, in patient order (the events' storage order).
          const lookup = await fewPersons(ctx, persons);
          const slice = {
            rp: lookup ? `${persons} ORDER BY patient_id` : persons,
            rel_blocked: `SELECT * FROM ${work.blocked}`,
          };
          const source = { rp: work.rp, rel_blocked: work.blocked };
          for (const [temp, table] of Object.entries(source))
            await client.query(`CREATE TEMP TABLE ${temp} ON COMMIT DROP AS TABLE ${table} WITH NO DATA`);
          await pipeInto(ctx, client, slice);
          for (const temp of Object.keys(source)) await client.query(`ANALYZE ${temp}`);
          if (rowKey) {
            await client.query(`CREATE TEMP TABLE ${SOURCE_ROW_KEY_TABLE} (k bytea NOT NULL) ON COMMIT DROP`);
            await client.query(`INSERT INTO ${SOURCE_ROW_KEY_TABLE} VALUES ($1)`, [rowKey]);
            rowKey.fill(0);
          }
          if (rowOrderKey) await installRowOrderKey(client, rowOrderKey);
          lap('pipeMs');
          for (const d of events)
            await writeFile(
              d,
              datasetSelect(
                d.dataset,
                d.fields,
                { ...shape, lookup },
                whole ? { first, last } : undefined,
                shuffleOf(d),
              ),
            );
          const readsAfter = await sourceReads(client, events);
          for (const [k, v] of Object.entries(readsAfter))
            timings[k] = v - readsBefore[k as keyof typeof readsBefore];
          await client.query('COMMIT');
        }
      } catch (err) {
        // Fails at once where a failed file write abandoned the connection (release-files.ts).
        await client.query('ROLLBACK').catch(() => undefined);
        await ctx.db
          .query(
            `UPDATE release_shards SET state = 'pending'
              WHERE release_id = $1 AND build = $2 AND shard = $3 AND claim = $4 AND state = 'running'`,
            [releaseId, build, shard, claim],
          )
          .catch(() => undefined);
        throw err;
      } finally {
        rowOrderKey?.fill(0);
      }
      const { rowCount } = await client.query(
        `UPDATE release_shards SET state = 'done', rows = $4, timings = $5, finished_at = now()
          WHERE release_id = $1 AND build = $2 AND shard = $3 AND claim = $6 AND state = 'running'`,
        [releaseId, build, shard, JSON.stringify(counts), JSON.stringify(timings), claim],
      );
      if (!rowCount) throw new Error('the shard was taken over by another worker (its lease lapsed)');
      await client.query(
        `UPDATE releases SET rows_done = (
           SELECT coalesce(sum(v.value::bigint), 0) FROM release_shards s, jsonb_each_text(s.rows) v
            WHERE s.release_id = $1 AND s.build = $2 AND s.state = 'done')
          WHERE id = $1 AND state = 'running'`,
        [releaseId, build],
      );
      return true;
    } finally {
      stopKeeping();
      await releaseClaim(client, ref, claim);
    }
  });
}

/**
 * The backend's counters of the source tables of a shard's per-event files (`pg_stat_get_xact_*`,
 * which hold what the session has not yet flushed, earlier transactions included; nothing is
 * flushed inside a transaction block): heap blocks, index blocks and rows (sequential-scan rows
 * returned, plus heap rows fetched by bitmap scans and through each index, as `idx_tup_fetch`). Their difference across the shard's transaction,
 * summed over the shards and set against the tables' pages, says whether shards read only their
 * own persons (issue #22, target 1; `bench/release.ts` prints it). Counts only, no data.
 */
async function sourceReads(
  client: PoolClient,
  events: ReleaseSpec['datasets'],
): Promise<{ readHeapBlocks: number; readIndexBlocks: number; readRows: number }> {
  const tables = [...new Set(events.map((d) => DATASET_SQL[d.dataset].table))];
  const {
    rows: [r],
  } = await client.query(
    `SELECT coalesce(sum(pg_stat_get_xact_blocks_fetched(c.oid)), 0)::bigint AS heap,
            coalesce(sum((SELECT sum(pg_stat_get_xact_blocks_fetched(i.indexrelid)) FROM pg_index i
                           WHERE i.indrelid = c.oid)), 0)::bigint AS idx,
            coalesce(sum(pg_stat_get_xact_tuples_returned(c.oid) + pg_stat_get_xact_tuples_fetched(c.oid)
                         + (SELECT coalesce(sum(pg_stat_get_xact_tuples_fetched(i.indexrelid)), 0) FROM pg_index i
                             WHERE i.indrelid = c.oid)), 0)::bigint AS tup
       FROM pg_class c WHERE c.oid = ANY($1::regclass[])`,
    [tables],
  );
  return { readHeapBlocks: Number(r.heap), readIndexBlocks: Number(r.idx), readRows: Number(r.tup) };
}

/** Whether a shard's persons (a SELECT of the committed working set) are few (LOOKUP_SHARE). */
async function fewPersons(ctx: EngineContext, persons: string): Promise<boolean> {
  const [{ n, total }]: { n: string; total: number }[] = await ctx.db.query(
    `SELECT (SELECT count(*) FROM (${persons}) s)::bigint AS n,
            (SELECT greatest(reltuples, 1)::float8 FROM pg_class WHERE oid = '${PATIENTS_SOURCE}'::regclass) AS total`,
  );
  return Number(n) < LOOKUP_SHARE * Number(total);
}

/**
 * COPY each SELECT (committed working tables, read on one other connection) into the temp table
 * of `client`'s transaction named by its key: bytes only, never parsed here.
 */
async function pipeInto(
  ctx: EngineContext,
  client: PoolClient,
  selects: Record<string, string>,
): Promise<void> {
  await withClient(ctx.db, async (source) => {
    for (const [table, select] of Object.entries(selects))
      await pipeline(
        source.query(copyTo(`COPY (${select}) TO STDOUT WITH (FORMAT binary)`)),
        client.query(copyFrom(`COPY ${table} FROM STDIN WITH (FORMAT binary)`)),
      );
  });
}
