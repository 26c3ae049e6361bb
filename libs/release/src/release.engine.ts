import { chmod, mkdir, rename, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { PoolClient } from 'pg';
import { DataSource } from 'typeorm';
import { AuditService } from '@custodian/audit';
import { APP_CONFIG, AppConfig } from '@custodian/core';
import { JobsService } from '@custodian/database';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { AggregateDimension, CATALOGUE_FIELDS, DATASET_FILE, Dataset } from './catalogue';
import { AGG_MAX_CELLS, crossProductCells, crossProductSize } from './aggregate-cells';
import { PRIMARY_MAX, protectCells, ROUND_TO, shownCount, shownCountText } from './disclosure-control';
import {
  chooseNode,
  closestMiss,
  combineNodes,
  FileNodeStats,
  LatticeNode,
  nodeHeight,
  NodeStats,
  withinBudget,
} from './k-anonymity';
import { locationQis } from './location-qi';
import { locationBaseRows, locationPairsTable, suppressPairs } from './location-qi.sql';
import { ReleaseKeys } from './keys';
import { DifferenceDecision, differencingManifest, guardDifference } from './release-ledger';
import { hasPersonColumn, installRowOrderKey, needsRowOrderKey, shardHashRange } from './row-order';
import {
  classOf,
  areaOf,
  DATASET_SQL,
  dateFilter,
  datasetColumns,
  datasetHeader,
  datasetSelect,
  needsSourceRowKey,
  SOURCE_ROW_KEY_TABLE,
  ethnicGroupOf,
  EventRange,
  regionOf,
  FILE_BIT,
  gpCounts,
  isPerEvent,
  levelSql,
  NO_GENERALISATION,
  orderKey,
  orderKeyLiteral,
  QuasiIdentifiers,
  sourcePresence,
  rowReasons,
  unattributableCount,
} from './release-sql';
import {
  abandonConnection,
  assembleGzip,
  copyQueryToGzip,
  csvLine,
  PRIVATE_DIR_MODE,
  WrittenFile,
  writeContent,
} from './release-files';
import { bytesNeeded, DiskFull, ensureRoom, freeBytes, isDiskFull } from './disk-space';
import { objectionPolicy, specProblems } from './release-spec';
import { shardBounds } from './shard-bounds';
import { claimShard, keepClaim, releaseClaim } from './shard-lease';
import { RELEASE_SHARD_QUEUE, ReleaseSpec } from './release.types';
import { VerificationFailure, verifyRelease } from './verifier/verify-release';

export const SOFTWARE_VERSION = process.env.npm_package_version ?? '0.1.0';
/**
 * Sort and hash memory of the preparation's statements (transaction-local): its sorts and
 * aggregates over a million persons spill to disk at the default 4 MB. It is per sort or hash node
 * and per parallel worker (hashes may take `hash_mem_multiplier` times it), so one preparation can
 * hold several times this at once; the same value as the intake's and the linkage's.
 */
const PREPARE_WORK_MEM = '128MB';
/**
 * Hash and sort memory of a shard's per-event files (transaction-local): at the default 4 MB the
 * hash of the shard's persons is split into batches and the sort spills; 64 MB made the shard
 * phase of the 1M-patient release 20% faster, and 256 MB no faster than that.
 */
const SHARD_WORK_MEM = '64MB';
/** Dates and times as every file writes them, for the rest of the transaction (one statement). */
const OUTPUT_FORMAT = `SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL TimeZone = 'UTC'`;
/** Unexpected errors are retried by the queue; after this many attempts the release is failed. */
export const MAX_ATTEMPTS = 4;

/**
 * A release that cannot be produced as approved (deterministic: retrying would not help). `message`
 * is what the bid's recipients may read (counts of persons by the aggregate rule); `exact`, where
 * given, the same with exact figures, for staff only.
 */
export class ReleaseFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly exact?: string,
  ) {
    super(message);
  }
}

interface ClaimedRelease {
  id: string;
  bid_id: string;
  spec: ReleaseSpec;
  /** The attempt's instant (set when its snapshot is taken); `snapshotCut` is its exact text, microseconds kept. */
  snapshot_at: Date;
  snapshotCut: string;
  token_seed_enc: Buffer;
  attempts: number;
  /** The disk space the build was estimated to need (set once the rows are estimated). */
  bytesNeeded?: number;
}

interface BuiltFile extends WrittenFile {
  name: string;
}

/**
 * The release job: cohort → objections → tier transforms → k-anonymity / disclosure control →
 * files + manifest. All patient-level work is set-based SQL. The preparation builds the working
 * set (one row per person, in `release_work`) in one REPEATABLE READ transaction whose snapshot
 * every shard reads the source tables in; the shards stream the files out with COPY.
 */
@Injectable()
export class ReleaseEngine {
  private readonly logger = new Logger('ReleaseEngine');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly keys: ReleaseKeys,
    private readonly audit: AuditService,
    private readonly jobs: JobsService,
  ) {}

  dirOf(releaseId: string): string {
    return path.join(this.config.dataDir, releaseId);
  }

  async run(releaseId: string): Promise<void> {
    // The holder connection: the release's advisory lock (one coordinator per release; freed if the
    // process dies, so recoverOrphans() can queue it again) and, while shards are built, the
    // REPEATABLE READ transaction whose exported snapshot every shard reads the source tables in.
    await this.withClient(async (holder) => {
      try {
        const { rows } = await holder.query(`SELECT pg_try_advisory_lock(hashtext($1)) AS locked`, [
          `release:${releaseId}`,
        ]);
        if (!rows[0].locked) throw new Error('release is being built by another worker');
        await this.runLocked(releaseId, holder);
      } finally {
        await holder.query('ROLLBACK').catch(() => undefined);
        await holder.query(`SELECT pg_advisory_unlock_all()`).catch(() => undefined);
      }
    });
  }

  private async runLocked(releaseId: string, holder: PoolClient): Promise<void> {
    // TypeORM returns [rows, count] for UPDATE … RETURNING.
    const [[rel]]: [ClaimedRelease[], number] = await this.db.query(
      `UPDATE releases SET state = 'running',
              started_at = COALESCE(started_at, now()), attempts = attempts + 1, rows_done = 0, work = NULL
        WHERE id = $1 AND state IN ('queued', 'running')
        RETURNING id, bid_id, spec, token_seed_enc, attempts`,
      [releaseId],
    );
    if (!rel) return; // completed or failed already: a duplicate delivery of the job
    const dir = this.dirOf(releaseId);
    const work = workTables(releaseId);
    try {
      await rm(dir, { recursive: true, force: true });
      await mkdir(path.join(dir, buildDir(rel.attempts)), { recursive: true, mode: PRIVATE_DIR_MODE });
      // recursive mkdir leaves folders that existed (DATA_DIR itself) as they were.
      await chmod(this.config.dataDir, PRIVATE_DIR_MODE);
      await this.dropWork(work);
      // One instant per attempt, retries included (SPEC §5 step 2): the data snapshot every reader
      // of this attempt shares, and the objection cut-off read in the same statement, after the
      // snapshot was taken — so every objection committed before the data snapshot is applied.
      // A retry takes both afresh and records its own time (a kept cut-off with a fresh data
      // snapshot let an objection or a patient arriving between attempts through).
      await holder.query(`BEGIN ISOLATION LEVEL REPEATABLE READ`);
      const {
        rows: [{ snapshot, at }],
      } = await holder.query(`SELECT pg_export_snapshot() AS snapshot, clock_timestamp()::text AS at`);
      // As text, microseconds kept (a JavaScript Date would cut the instant to the millisecond, and
      // an objection recorded in that millisecond, before the snapshot, would be missed).
      const [[claimed]]: [{ snapshot_at: Date }[], number] = await this.db.query(
        `UPDATE releases SET snapshot_at = $2::timestamptz WHERE id = $1 RETURNING snapshot_at`,
        [releaseId, at],
      );
      rel.snapshot_at = claimed.snapshot_at;
      rel.snapshotCut = at as string;
      const out = await this.build(rel, dir, snapshot as string);
      await holder.query('COMMIT');
      await this.db.transaction(async (tx) => {
        const [still] = await tx.query(`SELECT state, downloadable FROM releases WHERE id = $1 FOR UPDATE`, [
          releaseId,
        ]);
        if (still?.state !== 'running')
          throw new ReleaseFailure('RELEASE_STATE_CHANGED', 'release is no longer running');
        for (const f of out.files)
          await tx.query(
            `INSERT INTO release_files (release_id, name, rows, bytes, sha256) VALUES ($1,$2,$3,$4,$5)
             ON CONFLICT (release_id, name) DO UPDATE SET rows = EXCLUDED.rows, bytes = EXCLUDED.bytes, sha256 = EXCLUDED.sha256`,
            [releaseId, f.name, f.rows, f.bytes, f.sha256],
          );
        await tx.query(
          `UPDATE releases SET state = 'completed', completed_at = now(), manifest = $2, excluded = $3,
                  rows_done = $4, rows_estimated = $4, work = coalesce(work, '{}') || $5 WHERE id = $1`,
          [
            releaseId,
            JSON.stringify(out.manifest),
            JSON.stringify(out.excluded),
            out.rows,
            JSON.stringify({ timings: out.timings }),
          ],
        );
        // The public register's line for this release (SPEC §6), committed with the release itself.
        await tx.query(
          `INSERT INTO register_entries (kind, bid_id, release_id, tier, objections_applied, objections_note, details)
           VALUES ('release', $1, $2, $3, $4, $5, $6)`,
          [
            rel.bid_id,
            releaseId,
            rel.spec.tier,
            out.manifest.objections.applied,
            out.manifest.objections.reason ?? null,
            JSON.stringify({
              datasets: rel.spec.datasets.map((d) => d.dataset),
              agreementReference: rel.spec.agreementReference,
              independentlyVerified: out.manifest.verification.verified,
            }),
          ],
        );
        await this.audit.record(
          {
            action: 'release.completed',
            actor: null,
            bidId: rel.bid_id,
            subjectType: 'Release',
            subjectId: releaseId,
            details: {
              tier: rel.spec.tier,
              legalBasis: rel.spec.legalBasis,
              objectionsApplied: out.manifest.objections.applied,
              shards: out.shards,
              files: out.files.map((f) => ({ name: f.name, rows: f.rows, sha256: f.sha256 })),
            },
          },
          tx,
        );
      });
    } catch (err) {
      await holder.query('ROLLBACK').catch(() => undefined);
      // Partial files go first: a full disk's figures are then the room the release could have.
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      const failure =
        err instanceof ReleaseFailure
          ? err
          : err instanceof DiskFull || isDiskFull(err)
            ? await this.diskFullFailure(err, rel)
            : rel.attempts >= MAX_ATTEMPTS
              ? new ReleaseFailure(
                  'RELEASE_INTERNAL_ERROR',
                  'the release could not be produced; see the worker log',
                )
              : undefined;
      if (!failure) {
        this.logger.warn(
          { releaseId, attempt: rel.attempts, err: { message: safeMessage(err) } },
          'release attempt failed; will retry',
        );
        throw err;
      }
      this.logger.warn(
        { releaseId, code: failure.code, err: { message: safeMessage(err) } },
        'release failed',
      );
      await this.db.transaction(async (tx) => {
        // The reason recipients read follows the aggregate rule; staff read the exact one, kept
        // with the other exact figures (`excluded`, staff only).
        await tx.query(
          `UPDATE releases SET state = 'failed', failure_reason = $2, completed_at = now(),
                  excluded = coalesce(excluded, '{}') || $3 WHERE id = $1 AND state = 'running'`,
          [
            releaseId,
            `${failure.code}: ${failure.message}`.slice(0, 300),
            JSON.stringify(
              failure.exact ? { failure: { reason: `${failure.code}: ${failure.exact}`.slice(0, 300) } } : {},
            ),
          ],
        );
        await this.audit.record(
          {
            action: 'release.failed',
            outcome: 'failure',
            actor: null,
            bidId: rel.bid_id,
            subjectType: 'Release',
            subjectId: releaseId,
            details: { code: failure.code },
          },
          tx,
        );
      });
    } finally {
      // The shard rows stay (which worker built what, and when); the working tables go.
      await this.dropWork(work).catch(() => undefined);
    }
  }

  /**
   * A full release disk (SPEC §5: fail rather than hang): the officer reads the room there is and
   * the room the estimate asked for; recipients read that the disk is full. Not retried: freeing
   * space is someone's job first, and the officer asks again.
   */
  private async diskFullFailure(err: unknown, rel: ClaimedRelease): Promise<ReleaseFailure> {
    const full =
      err instanceof DiskFull
        ? err
        : new DiskFull(await freeBytes(this.config.dataDir).catch(() => 0), rel.bytesNeeded);
    return new ReleaseFailure(full.code, DiskFull.PUBLIC, full.message);
  }

  private async dropWork(work: WorkTables): Promise<void> {
    await this.db.query(`DROP TABLE IF EXISTS ${work.rp}, ${work.blocked}`);
  }

  /**
   * Prepare (one transaction on the exported snapshot: cohort, objections, identifiers,
   * k-anonymity, counts; the working set committed to `release_work`), then the shards (this
   * worker and any other that answers the `release.shard` job), then assembly of the files.
   */
  private async build(rel: ClaimedRelease, dir: string, snapshot: string) {
    const spec = rel.spec;
    const problems = specProblems(spec);
    if (problems.length) throw new ReleaseFailure(problems[0].code, problems[0].message);
    const policy = objectionPolicy(spec);
    const recordLevel = spec.tier !== 'aggregate';
    const t0 = Date.now();
    // Statements of the preparation slower than 100 ms, by their opening words (no values: the
    // SQL text holds catalogue and work-table names, checked dates and levels, never patient data),
    // kept on the release for tuning.
    const slowSteps: [string, number][] = [];
    const prepared = await this.withClient(async (client) => {
      const q = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []) => {
        const started = Date.now();
        const rows = (await client.query(sql, params)).rows as T[];
        const ms = Date.now() - started;
        if (ms >= 100) slowSteps.push([sql.replace(/\s+/g, ' ').trim().slice(0, 60), ms]);
        return rows;
      };
      // The bid key is made (first release) outside the snapshot transaction, so concurrent first
      // releases of one bid agree on it.
      const bidKey = spec.tier === 'pseudonymised' ? await this.keys.bidKey(this.db, rel.bid_id) : undefined;
      try {
        await q(`BEGIN ISOLATION LEVEL REPEATABLE READ`);
        await q(`SET TRANSACTION SNAPSHOT '${checkSnapshotId(snapshot)}'`);
        await q(OUTPUT_FORMAT);
        await q(`SELECT set_config('work_mem', $1, true)`, [PREPARE_WORK_MEM]);
        const result = await this.prepare(q, rel, dir, policy, recordLevel, bidKey);
        await q(`COMMIT`);
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        bidKey?.fill(0);
      }
    });

    const files: BuiltFile[] = [];
    const dictionary: string[] = [csvLine(['file', 'column', 'description'])];
    let done = 0;
    let shards = 0;
    const t1 = Date.now();
    let t2 = t1;
    if (recordLevel) {
      const levels: LatticeNode = prepared.kAnon
        ? {
            age: prepared.kAnon.age,
            area: prepared.kAnon.area,
            ethnicity: prepared.kAnon.ethnicity,
            location: prepared.kAnon.location,
          }
        : NO_GENERALISATION;
      // Refused before any shard is written when the disk cannot hold the estimate.
      rel.bytesNeeded = bytesNeeded(prepared.estimated, this.config.releaseBytesPerRow);
      await ensureRoom(dir, rel.bytesNeeded);
      const parts = await this.buildShards(rel, snapshot, prepared, levels);
      shards = parts.shards;
      t2 = Date.now();
      const level = this.config.releaseGzipLevel;
      for (const d of spec.datasets) {
        const name = DATASET_FILE[d.dataset];
        const written = await assembleGzip(
          datasetHeader(d.dataset, d.fields, spec.tier),
          parts.files.map((s) =>
            path.join(dir, buildDir(rel.attempts), shardFile(d.dataset, s.shard, s.claim)),
          ),
          path.join(dir, `${name}.partial`),
          level,
        );
        const rows = parts.rows[d.dataset] ?? 0;
        files.push({ name, rows, ...written });
        for (const col of datasetColumns(d.dataset, d.fields, spec.tier).columns)
          dictionary.push(csvLine([name, col.name, col.description]));
        done += rows;
      }
    } else {
      files.push(prepared.aggregate!.file);
      for (const [col, desc] of prepared.aggregate!.dictionary)
        dictionary.push(csvLine(['aggregate.csv.gz', col, desc]));
      done = prepared.aggregate!.file.rows;
    }
    await rm(path.join(dir, buildDir(rel.attempts)), { recursive: true, force: true });
    const dict = await writeContent(
      path.join(dir, 'data_dictionary.csv.partial'),
      dictionary.join(''),
      false,
      dictionary.length - 1,
    );
    files.push({ name: 'data_dictionary.csv', ...dict });

    // Independent verification (SPEC §5 step 6, STYLE 17) of the files still `.partial`: a release
    // that fails it fails; the manifest (written next, over the checked hashes) records it.
    const verification = await verifyRelease(
      dir,
      {
        id: rel.id,
        files,
        suffix: '.partial',
        suppressedByFile: prepared.kAnon?.suppressedByFile,
        removedByFile: prepared.kAnon?.removedByFile,
      },
      this.db,
      { keys: this.keys, anonK: this.config.anonK, anonMaxSuppression: this.config.anonMaxSuppression },
    ).catch(async (err) => {
      if (!(err instanceof VerificationFailure)) throw err;
      await this.audit.record({
        action: 'release.verification_failed',
        outcome: 'failure',
        actor: null,
        bidId: rel.bid_id,
        subjectType: 'Release',
        subjectId: rel.id,
        details: { check: err.check, reason: err.message },
      });
      throw new ReleaseFailure('RELEASE_VERIFICATION_FAILED', err.message);
    });

    const kAnon = prepared.kAnon;
    const manifest = {
      release: rel.id,
      bid: rel.bid_id,
      agreementReference: spec.agreementReference,
      tier: spec.tier,
      legalBasis: spec.legalBasis,
      datasets: spec.datasets.map((d) => ({
        dataset: d.dataset,
        fields: CATALOGUE_FIELDS[d.dataset].filter((f) => d.fields.includes(f)),
      })),
      cohort: spec.cohort,
      aggregation: spec.aggregation,
      objections: {
        snapshotAt: rel.snapshot_at.toISOString(),
        applied: policy.applied,
        reason: policy.reason,
        type1: 'excluded from every release, aggregate counts included',
        consentCohortOnly: policy.consentOnly,
      },
      // Counts of persons follow the aggregate rule (researchers read this file); the exact ones are
      // on the release for staff (`excluded.kAnonymity`). Row counts of files (`files`) are rows.
      kAnonymity: kAnon
        ? {
            k: kAnon.k,
            quasiIdentifiers: [
              ...quasiIdentifierNames(quasiIdentifiersOf(spec)),
              ...Object.values(locationQis(spec.datasets)),
            ],
            levels: kAnon.levels,
            suppressed: shownCount(kAnon.suppressed),
            suppressedByFile: Object.fromEntries(
              Object.entries(kAnon.suppressedByFile).map(([d, n]) => [d, shownCount(n)]),
            ),
            // Of them, persons left with no row in the file (a location file drops a person's rows of
            // a small location class only; the person stays with the others).
            removedByFile: Object.fromEntries(
              Object.entries(kAnon.removedByFile).map(([d, n]) => [d, shownCount(n)]),
            ),
            population: shownCount(kAnon.population),
            maxSuppressionPerFile: this.config.anonMaxSuppression,
            counting: `classes per file over the full quasi-identifier tuple (a location file: per person-location pair, counted in persons); suppression counted in persons who lose a row of a file (removedByFile: of them, those who lose the whole file) and capped per file; counts of persons shown as * for 1-${PRIMARY_MAX}, else rounded to the nearest ${ROUND_TO}`,
          }
        : undefined,
      disclosureControl: prepared.aggregate?.info,
      differencing: prepared.differencing ? differencingManifest(prepared.differencing) : undefined,
      files: files.map(({ name, rows, bytes, sha256 }) => ({ name, rows, bytes, sha256 })),
      verification,
      software: { name: 'custodian', version: SOFTWARE_VERSION },
    };
    const man = await writeContent(
      path.join(dir, 'manifest.json.partial'),
      JSON.stringify(manifest, null, 2) + '\n',
      false,
      0,
    );
    files.push({ name: 'manifest.json', ...man });
    for (const f of files) await rename(path.join(dir, `${f.name}.partial`), path.join(dir, f.name));
    const timings = { prepareMs: t1 - t0, shardsMs: t2 - t1, assembleMs: Date.now() - t2, slowSteps };
    return { files, manifest, excluded: prepared.excluded, rows: done, shards, timings };
  }

  /** A pooled connection's pg client for `fn`, released afterwards. */
  private async withClient<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    const qr = this.db.createQueryRunner();
    await qr.connect();
    try {
      return await fn((qr as unknown as { databaseConnection: PoolClient }).databaseConnection);
    } finally {
      await qr.release();
    }
  }

  /**
   * Splits the persons (ordered by `okey`, their identifier's order) into contiguous key ranges
   * of about RELEASE_SHARD_ROWS output rows, asks other workers to help (`release.shard`), builds
   * shards itself until none is left, and waits for shards other workers hold. A shard whose worker
   * died or stalled (its claim's lock freed, or its lease lapsed: shard-lease.ts) is built again by
   * whoever comes next.
   */
  private async buildShards(
    rel: ClaimedRelease,
    snapshot: string,
    prepared: { estimated: number; persons: number },
    levels: LatticeNode,
  ) {
    const work = workTables(rel.id);
    const wanted = Math.max(
      1,
      Math.min(
        this.config.releaseMaxShards,
        Math.ceil(prepared.estimated / this.config.releaseShardRows),
        prepared.persons,
      ),
    );
    const build = rel.attempts;
    // Shard i holds the persons whose order key lies in [bound i, bound i+1), the ends open. The
    // bounds are exact quantiles of the included persons' keys (shard-bounds.ts): the same data
    // gives the same shards, hence the same gzip members and the same bytes (docs/RELEASE.md).
    // Ties in the key never straddle two shards.
    const bounds = await shardBounds(this.db, work.rp, wanted);
    const shards = bounds.length + 1;
    await this.db.transaction(async (tx) => {
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
    for (let i = 1; i < shards; i++)
      await this.jobs.send(RELEASE_SHARD_QUEUE, { releaseId: rel.id, build }, { retryLimit: 2 });
    for (;;) {
      const did = await this.helpShards(rel.id, build);
      const pending: { n: string }[] = await this.db.query(
        `SELECT count(*)::bigint AS n FROM release_shards WHERE release_id = $1 AND build = $2 AND state <> 'done'`,
        [rel.id, build],
      );
      if (Number(pending[0].n) === 0) break;
      if (!did) {
        const [still] = await this.db.query(`SELECT state FROM releases WHERE id = $1`, [rel.id]);
        if (still?.state !== 'running')
          throw new ReleaseFailure('RELEASE_STATE_CHANGED', 'release is no longer running');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const done: { shard: number; claim: number; rows: Record<string, number> }[] = await this.db.query(
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
  async helpShards(releaseId: string, build: number): Promise<boolean> {
    const [rel] = await this.db.query(
      `SELECT id, spec, work FROM releases WHERE id = $1 AND state = 'running' AND (work ->> 'build')::int = $2`,
      [releaseId, build],
    );
    if (!rel) return false; // finished, failed, or a newer build has started
    const shards: { shard: number; first_person: string; last_person: string }[] = await this.db.query(
      `SELECT shard, first_person, last_person FROM release_shards
        WHERE release_id = $1 AND build = $2 AND state <> 'done' ORDER BY shard`,
      [releaseId, build],
    );
    let did = false;
    for (const s of shards)
      if (
        await this.runShard(
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

  private async runShard(
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
    return this.withClient(async (client) => {
      // A numbered, leased claim (shard-lease.ts): a claimant that dies or stalls loses the shard.
      const ref = { releaseId, build, shard };
      const lease = this.config.releaseShardLeaseSeconds;
      const claim = await claimShard(client, ref, `${hostname()}:${process.pid}`.slice(0, 100), lease);
      if (claim === undefined) return false;
      // Taken over while this one stalled: its COPY is ended, and its `done` below is refused.
      const stopKeeping = keepClaim(this.db, ref, claim, lease, () => abandonConnection(client));
      try {
        const dir = path.join(this.dirOf(releaseId), buildDir(build));
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
        // Files without a person column: this shard's range of the keyed row hash (row-order.ts).
        const rowOrderKey = needsRowOrderKey(spec.datasets)
          ? await this.keys.rowOrderKey(this.db, releaseId)
          : undefined;
        const shuffle = rowOrderKey ? await this.shuffleRange(releaseId, build, shard) : undefined;
        const shuffleOf = (d: ReleaseSpec['datasets'][number]) =>
          hasPersonColumn(d.fields) ? undefined : shuffle;
        const writeFile = async (d: ReleaseSpec['datasets'][number], select: string) => {
          const file = path.join(dir, shardFile(d.dataset, shard, claim));
          const w = await copyQueryToGzip(client, select, `${file}.partial`, {
            header: false,
            level: this.config.releaseGzipLevel,
          });
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
            await writeFile(
              d,
              datasetSelect(d.dataset, d.fields, shape, { work, first, last }, shuffleOf(d)),
            );
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
              ? await this.keys.sourceRowKey(this.db, spec.tier, spec.bidId, releaseId)
              : undefined;
            await client.query(`BEGIN ISOLATION LEVEL REPEATABLE READ`);
            // The coordinator's snapshot: every shard reads the data exactly as the working set saw it.
            await client.query(`SET TRANSACTION SNAPSHOT '${checkSnapshotId(snapshot)}'`);
            await client.query(OUTPUT_FORMAT);
            await client.query(`SELECT set_config('work_mem', $1, true)`, [SHARD_WORK_MEM]);
            // The working set was committed after that snapshot, so this transaction cannot see its
            // rows: the shard's slice is piped into temp tables (bytes only, never parsed here).
            // A shuffled file's shard is a range of its rows' hash: it needs every included person.
            const whole = events.some((d) => shuffleOf(d));
            const slice = {
              rp: whole
                ? `SELECT * FROM ${work.rp} WHERE excl IS NULL`
                : `SELECT * FROM ${work.rp} WHERE okey BETWEEN ${orderKeyLiteral(first)} AND ${orderKeyLiteral(last)} AND excl IS NULL`,
              rel_blocked: `SELECT * FROM ${work.blocked}`,
            };
            const source = { rp: work.rp, rel_blocked: work.blocked };
            for (const [temp, table] of Object.entries(source))
              await client.query(`CREATE TEMP TABLE ${temp} ON COMMIT DROP AS TABLE ${table} WITH NO DATA`);
            await this.pipeInto(client, slice);
            for (const temp of Object.keys(source)) await client.query(`ANALYZE ${temp}`);
            if (rowKey) {
              await client.query(
                `CREATE TEMP TABLE ${SOURCE_ROW_KEY_TABLE} (k bytea NOT NULL) ON COMMIT DROP`,
              );
              await client.query(`INSERT INTO ${SOURCE_ROW_KEY_TABLE} VALUES ($1)`, [rowKey]);
              rowKey.fill(0);
            }
            if (whole) await installRowOrderKey(client, rowOrderKey!);
            lap('pipeMs');
            for (const d of events)
              await writeFile(
                d,
                datasetSelect(d.dataset, d.fields, shape, whole ? { first, last } : undefined, shuffleOf(d)),
              );
            await client.query('COMMIT');
          }
        } catch (err) {
          // Fails at once where a failed file write abandoned the connection (release-files.ts).
          await client.query('ROLLBACK').catch(() => undefined);
          await this.db
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

  /** This shard's range of the keyed row hash, of the build's shard count (row-order.ts). */
  private async shuffleRange(releaseId: string, build: number, shard: number) {
    const [{ n }]: { n: number }[] = await this.db.query(
      `SELECT count(*)::int AS n FROM release_shards WHERE release_id = $1 AND build = $2`,
      [releaseId, build],
    );
    return shardHashRange(shard, n);
  }

  /**
   * COPY each SELECT (committed working tables, read on one other connection) into the temp table
   * of `client`'s transaction named by its key: bytes only, never parsed here.
   */
  private async pipeInto(client: PoolClient, selects: Record<string, string>): Promise<void> {
    await this.withClient(async (source) => {
      for (const [table, select] of Object.entries(selects))
        await pipeline(
          source.query(copyTo(`COPY (${select}) TO STDOUT WITH (FORMAT binary)`)),
          client.query(copyFrom(`COPY ${table} FROM STDIN WITH (FORMAT binary)`)),
        );
    });
  }

  private async prepare(
    q: <T = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<T[]>,
    rel: ClaimedRelease,
    dir: string,
    policy: ReturnType<typeof objectionPolicy>,
    recordLevel: boolean,
    bidKey: Buffer | undefined,
  ) {
    const spec = rel.spec;
    const datasets = spec.datasets.map((d) => d.dataset);
    const asOf = rel.snapshot_at.toISOString().slice(0, 10);
    const excluded: Record<string, unknown> = {};
    const setProgress = (done: number, estimated?: number) =>
      this.db
        .query(
          `UPDATE releases SET rows_done = $2, rows_estimated = COALESCE($3, rows_estimated) WHERE id = $1`,
          [rel.id, done, estimated ?? null],
        )
        .catch(() => undefined);

    // The working set lives in unlogged tables (shared buffers, parallel scans, visible to the
    // shards once committed); temp views give them the short names the SQL pieces use.
    const work = workTables(rel.id);
    const range = rangeOf(spec);

    // 1. Objection snapshot, as the register stood at this attempt's instant (recorded on the row).
    await q(
      `CREATE TEMP TABLE rel_obj ON COMMIT DROP AS SELECT nhs_number AS nhs, type FROM objections_as_of($1::timestamptz)`,
      [rel.snapshotCut],
    );
    await q(`CREATE UNLOGGED TABLE ${work.blocked} (nhs char(10) PRIMARY KEY, reason text NOT NULL)`);
    await q(`CREATE TEMP VIEW rel_blocked AS SELECT * FROM ${work.blocked}`);
    await q(
      `INSERT INTO rel_blocked
       SELECT nhs, CASE WHEN bool_or(type = 'type1') THEN 'type1_objection' ELSE 'type2_objection' END
         FROM rel_obj WHERE (type = 'type1' AND $1) OR (type = 'type2' AND $2) GROUP BY nhs`,
      [policy.excludeType1, policy.excludeType2],
    );

    // 2. The cohort: one row per person (GP patients, and NHS numbers of unlinked source rows).
    const sources = datasets.filter((d) => d !== 'gp') as Exclude<Dataset, 'gp'>[];
    const sourceRows = sources
      .map(
        (d) =>
          `SELECT nhs_number, birth_date, sex, postcode FROM ${DATASET_SQL[d].table} WHERE patient_id IS NULL AND nhs_number IS NOT NULL`,
      )
      .join(' UNION ALL ');
    const c = spec.cohort;
    // Who has rows in each file: needed by k-anonymity (classes per file) and per-person files only.
    const perPerson = spec.datasets.some((d) => !isPerEvent(d.dataset, d.fields));
    const needPresence = spec.tier === 'anonymised' || (recordLevel && perPerson);
    const gp = datasets.includes('gp');
    // GP rows per patient (presence and the GP row counts); for the other datasets, who has rows.
    // Scratch tables of this transaction only, unlogged rather than temporary: a temp table in a
    // query keeps it from running in parallel (the person table's statement is 1M HMACs).
    const scratch = { gp: `${work.rp}_gp`, hes: `${work.rp}_hes`, social_care: `${work.rp}_social_care` };
    // Passing rows between processes priced lower, until the person table is built: the planner
    // does not see that each person costs an HMAC and a few string functions, and keeps that
    // statement on one process otherwise (and the GP counts' index-only scan too).
    await q(`SET LOCAL parallel_tuple_cost = 0.001`);
    if (gp) {
      // With no date range the counts need only the patient ids, which the (patient_id, …) unique
      // index holds in order: a parallel index-only scan counted group by group (1M patients, 10M
      // events: 1.9 s) rather than hashing every event (2.7 s), which the planner prefers because
      // it underestimates the number of patients. With a range the dates are in the heap.
      const open = !range.from && !range.to;
      const plan = ['enable_hashagg', 'enable_seqscan'];
      if (open) for (const p of plan) await q(`SET LOCAL ${p} = off`);
      await q(gpCounts(scratch.gp, range));
      if (open) for (const p of plan) await q(`SET LOCAL ${p} TO DEFAULT`);
    }
    const present = needPresence ? sources : [];
    for (const d of present) await q(sourcePresence(scratch[d], d, range));
    const files =
      [
        ...(needPresence && gp ? [`CASE WHEN gc.n IS NOT NULL THEN ${FILE_BIT.gp} ELSE 0 END`] : []),
        ...present.map((d) => `CASE WHEN h_${d}.nhs IS NOT NULL THEN ${FILE_BIT[d]} ELSE 0 END`),
      ].join(' + ') || '0';
    // 6 (done with the cohort, once per person). The tier's person identifier: pseudonymised
    // HMAC-SHA256(bid key, NHS number); anonymised HMAC under the release's random seed, truncated
    // to 128 bits (a random token, the same on a retry); identifiable the NHS number. Keys are
    // bound parameters only.
    const idKey =
      spec.tier === 'pseudonymised'
        ? bidKey
        : spec.tier === 'anonymised'
          ? this.keys.open(rel.token_seed_enc, `release:${rel.id}`)
          : undefined;
    // 3 (in the same statement). Who is left out, and why: outside the consent cohort first, then
    // objections.
    // A consent cohort never applies at the aggregate tier (SPEC §5 step 2): it would make a count
    // of the cohort a membership oracle.
    const consentOnly = recordLevel && Boolean(policy.consentOnly || spec.consentCohort);
    // Only what the tier can release is copied into the working set (date of birth and postcode
    // for the identifiable tier, birth year-month for the pseudonymised).
    const keep = (tier: boolean, expr: string, type: string) => (tier ? expr : `NULL::${type}`);
    // CREATE TABLE … AS (PostgreSQL may scan and hash in parallel; INSERT … SELECT never does).
    // Narrow on purpose: no row number (a sort of every person), no lookups (the postcode area,
    // region and ethnic group derive from district and category where used): each cost 1–2 s of
    // a 1M-person statement whose rows all pass through the leader.
    // nhs, patient_id, birth_date, sex, postcode, ethnicity, practice_ods, a5, district, eth,
    // excl, gp_n, files, pid, bym, okey. (OFFSET 0 keeps the inner query a subquery: pulled up, its
    // HMAC would be computed twice, once for pid and once inside okey.)
    await q(
      `CREATE UNLOGGED TABLE ${work.rp} AS
       WITH persons AS (
         SELECT p.nhs_number AS nhs, p.id AS patient_id, p.birth_date, p.sex, p.postcode, p.ethnicity, p.practice_ods
           FROM patients p
         ${
           sourceRows
             ? `UNION ALL
         (SELECT DISTINCT ON (s.nhs_number) s.nhs_number, NULL::bigint, s.birth_date, s.sex, s.postcode, NULL::char(1), NULL::char(6)
           FROM (${sourceRows}) s
          WHERE NOT EXISTS (SELECT 1 FROM patients p WHERE p.nhs_number = s.nhs_number)
          ORDER BY s.nhs_number, s.birth_date NULLS LAST, s.sex, s.postcode NULLS LAST)`
             : ''
         }
       ), aged AS (
         SELECT x.*, date_part('year', age($1::date, x.birth_date))::int AS age FROM persons x
       )
       SELECT s.*, ${orderKey(spec.tier, 's.nhs', 's.pid')} AS okey FROM (
       SELECT x.nhs, x.patient_id, ${keep(spec.tier === 'identifiable', 'x.birth_date', 'date')} AS birth_date, x.sex,
              ${keep(spec.tier === 'identifiable', 'x.postcode', 'varchar')} AS postcode, x.ethnicity,
              ${keep(spec.tier !== 'anonymised', 'x.practice_ods', 'char(6)')} AS practice_ods, (x.age / 5) * 5 AS a5,
              CASE WHEN x.postcode IS NULL THEN 'unknown' ELSE left(replace(x.postcode, ' ', ''), -3) END AS district,
              coalesce(x.ethnicity, 'Z') AS eth,
              CASE WHEN $9::boolean AND NOT x.nhs IN (SELECT m.nhs_number FROM bid_cohort_members m WHERE m.bid_id = $10)
                   THEN 'not_in_consent_cohort' ELSE bl.reason END AS excl,
              ${gp ? 'gc.n' : 'NULL::bigint'} AS gp_n, (${files})::int AS files,
              (CASE WHEN $7::bytea IS NULL THEN x.nhs::text
                    ELSE left(encode(hmac(convert_to(x.nhs, 'UTF8'), $7::bytea, 'sha256'), 'hex'), $8::int) END) COLLATE "C" AS pid,
              ${keep(spec.tier === 'pseudonymised', "to_char(x.birth_date, 'YYYY-MM')", 'text')} AS bym
         FROM aged x
         LEFT JOIN ${work.blocked} bl ON bl.nhs = x.nhs
         ${gp ? `LEFT JOIN ${scratch.gp} gc ON gc.patient_id = x.patient_id` : ''}
         ${present.map((d) => `LEFT JOIN ${scratch[d]} h_${d} ON h_${d}.nhs = x.nhs`).join('\n         ')}
        WHERE ($2::text[] IS NULL OR x.practice_ods = ANY($2::text[]))
          AND ($3::text[] IS NULL OR substring(x.postcode from '^[A-Z]+') = ANY($3::text[]))
          AND ($4::int IS NULL OR x.age >= $4::int)
          AND ($5::int IS NULL OR x.age <= $5::int)
          AND ($6::text[] IS NULL
               OR EXISTS (SELECT 1 FROM gp_events e WHERE e.patient_id = x.patient_id AND e.code = ANY($6::text[]))
               OR EXISTS (SELECT 1 FROM hes_episodes h WHERE h.nhs_number = x.nhs AND h.diagnosis_icd10 = ANY($6::text[]))
               OR EXISTS (SELECT 1 FROM hes_episodes h WHERE h.patient_id = x.patient_id AND h.diagnosis_icd10 = ANY($6::text[])))
       OFFSET 0) s`,
      [
        asOf,
        c.practices ?? null,
        c.postcodeAreas?.map((a) => a.toUpperCase()) ?? null,
        c.ageMin ?? null,
        c.ageMax ?? null,
        c.conditionCodes ?? null,
        idKey ?? null,
        spec.tier === 'anonymised' ? 32 : 64,
        consentOnly,
        rel.bid_id,
      ],
    );
    idKey?.fill(0);
    await q(`SET LOCAL parallel_tuple_cost TO DEFAULT`);
    await q(`DROP TABLE IF EXISTS ${Object.values(scratch).join(', ')}`);
    // Statistics for the plans that read it (the base cells' aggregate, the shards' slices): the
    // columns they join, filter and group on.
    await q(`ANALYZE ${work.rp} (nhs, patient_id, excl, files, a5, sex, eth, district, okey)`);
    await q(`CREATE TEMP VIEW rp AS SELECT * FROM ${work.rp}`);
    // Record level: the bid's releases compared with each other (release-ledger.ts, #27) — before
    // the counts, so that the persons it withholds are counted among those left out.
    let differencing: DifferenceDecision | undefined;
    if (recordLevel) {
      const key = this.keys.seedKey(rel.token_seed_enc, rel.id, 'difference-v1');
      try {
        differencing = await guardDifference(
          q,
          { id: rel.id, bidId: rel.bid_id, organisationId: spec.organisationId },
          this.config.anonK,
          key,
        );
      } finally {
        key.fill(0);
      }
      excluded.differencing = differencing;
    }
    // One pass over the persons for every count the report needs of them: by reason left out,
    // GP rows (per-person counts), persons per file (a per-person file's size) and Type 2
    // objectors let in (legal bases that do not apply objections).
    const tally = await q<{
      excl: string | null;
      persons: string;
      gp_rows: string | null;
      type2: string;
      in_gp: string;
      in_hes: string;
      in_social_care: string;
    }>(
      `SELECT excl, count(*)::bigint AS persons, sum(gp_n)::bigint AS gp_rows,
              ${
                // Excluded objectors all have a reason; else the count reads the snapshot (a temp
                // table, which keeps the whole statement on one process).
                policy.excludeType2
                  ? '0::bigint'
                  : `count(*) FILTER (WHERE nhs IN (SELECT o.nhs FROM rel_obj o WHERE o.type = 'type2'))::bigint`
              } AS type2,
              ${(Object.keys(FILE_BIT) as Dataset[])
                .map((d) => `count(*) FILTER (WHERE files & ${FILE_BIT[d]} <> 0)::bigint AS in_${d}`)
                .join(', ')}
         FROM rp GROUP BY excl`,
    );
    const included = tally.find((t) => t.excl === null);

    // 4. Anonymised tier: k-anonymity over the quasi-identifiers that reach the files.
    let kAnon: Awaited<ReturnType<ReleaseEngine['kAnonymise']>> | undefined;
    if (spec.tier === 'anonymised')
      kAnon = await this.kAnonymise(
        q,
        work,
        datasets,
        quasiIdentifiersOf(spec),
        locationQis(spec.datasets),
        range,
      );

    // 5. Exact counts of what is left out (staff only; never in the researchers' files).
    const left = tally.filter((t) => t.excl !== null).sort((a, b) => a.excl!.localeCompare(b.excl!));
    excluded.persons = Object.fromEntries(left.map((t) => [t.excl, Number(t.persons)]));
    excluded.type2ObjectorsIncluded = Number(included?.type2 ?? 0);
    if (kAnon) {
      excluded.kAnonymitySuppressedByFile = kAnon.suppressedByFile;
      excluded.kAnonymity = {
        population: kAnon.population,
        populationByFile: kAnon.populationByFile,
        suppressed: kAnon.suppressed,
        suppressedByFile: kAnon.suppressedByFile,
        removedByFile: kAnon.removedByFile,
      };
    }
    excluded.rows = {};
    let estimated = 0;
    for (const { dataset: d, fields } of spec.datasets) {
      const perEvent = isPerEvent(d, fields);
      const byReason: Record<string, number> = {};
      // GP rows by their person's reason (a GP row is never blocked on its own), from the
      // per-person counts; the other datasets' rows are scanned.
      const reasons =
        d === 'gp'
          ? tally.filter((t) => Number(t.gp_rows ?? 0) > 0).map((t) => ({ reason: t.excl, n: t.gp_rows! }))
          : await q<{ reason: string | null; n: string }>(rowReasons(d, range));
      for (const r of reasons) {
        if (r.reason === null) {
          if (perEvent) estimated += Number(r.n);
        } else byReason[r.reason] = Number(r.n);
      }
      // A row per person: the shards are sized by persons (before k-anonymity's suppression).
      if (recordLevel && !perEvent) estimated += Number(included?.[`in_${d}`] ?? 0);
      const un = unattributableCount(d, range);
      if (un) {
        const [{ n }] = await q<{ n: string }>(un);
        if (Number(n) > 0 && recordLevel) byReason.no_nhs_number_unlinked = Number(n);
      }
      (excluded.rows as Record<string, unknown>)[d] = byReason;
    }
    await setProgress(0, estimated);

    // 8. Record level: the working set the shards read, committed with this transaction. `okey`
    //    orders the persons by their identifier (the files' order; shards are ranges of it).
    let aggregate: Awaited<ReturnType<ReleaseEngine['aggregate']>> & { file: BuiltFile } = undefined!;
    if (recordLevel) {
      // The shards' slices are ranges of it, read in its order. (Without it, a per-person shard
      // scans every person and sorts its own: tried, 30% slower per shard.)
      await q(`CREATE INDEX ON ${work.rp} (okey)`);
    } else {
      const agg = await this.aggregate(q, spec, range, path.join(dir, 'aggregate.csv.gz.partial'));
      aggregate = { ...agg, file: { name: 'aggregate.csv.gz', ...agg.file } };
    }
    // The temp views would outlive the transaction in this pooled session.
    await q(`DROP VIEW rp, rel_blocked`);
    const persons = tally.reduce((n, t) => n + Number(t.persons), 0);
    return {
      excluded,
      estimated,
      persons,
      kAnon,
      differencing,
      aggregate: recordLevel ? undefined : aggregate,
    };
  }

  /**
   * Chooses the generalisation levels (the least generalised lattice node whose small classes
   * stay within the suppression budget) and takes the persons of classes still smaller than k at
   * them out of that file (clears its bit in `rp.files`). Classes are counted per output
   * file (a person is in a file when they have rows in it) over the full tuple of released
   * quasi-identifiers, so joining files by person_token refines nothing. A file with a location
   * column (location-qi.ts) is counted per person-location pair, with its own location ladder in
   * the lattice; a pair in a small class loses its rows (the person's `ksup`), not the person.
   */
  private async kAnonymise(
    q: <T = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<T[]>,
    work: WorkTables,
    datasets: Dataset[],
    qi: QuasiIdentifiers,
    /** The location column of each file that carries one (location-qi.ts). */
    locations: Partial<Record<Dataset, string>>,
    range: EventRange,
  ) {
    const k = this.config.anonK;
    const locationFiles = Object.keys(locations) as Dataset[];
    // Base cells: persons per file and combination of base values (unused quasi-identifiers are
    // constants, so they split nothing), counted from the working set alone. A file without a
    // location column has one row per cell (`ll` 0, `loc` '*'); a location file one per cell,
    // location level `ll` and location class key `loc`, counting distinct persons of that pair.
    const cell = baseCell(qi);
    const perFile = datasets
      .filter((d) => !locations[d])
      .map(
        (
          d,
        ) => `SELECT '${d}'::text AS dataset, ${cell.a5} AS a5, ${cell.sex} AS sex, ${cell.eth} AS eth, ${cell.district} AS district,
                 0 AS ll, '*'::text AS loc
           FROM rp WHERE excl IS NULL AND files & ${FILE_BIT[d]} <> 0`,
      );
    if (locationFiles.length) {
      await q(locationPairsTable(locations, range, baseCell(qi, 'rp.')));
      perFile.push(locationBaseRows(locations));
    }
    // Each cell carries its ladders' upper rungs, derived once per cell rather than once per node
    // (a quasi-identifier not released is '*' throughout, and so are its rungs' classes).
    await q(`CREATE TEMP TABLE rel_kbase ON COMMIT DROP AS
      SELECT c.*, ${areaOf('c.district')} AS parea, ${regionOf(areaOf('c.district'))} AS region,
             ${ethnicGroupOf('c.eth')} AS eg
        FROM (SELECT dataset, a5, sex, eth, district, ll, loc, count(*)::bigint AS n
                FROM (${perFile.join(' UNION ALL ')}) b GROUP BY 1, 2, 3, 4, 5, 6, 7) c`);
    // Persons per file (the rows at `*`: one per person): the suppression cap is a share of each
    // file's persons, not of the pool.
    const populations: Record<string, number> = Object.fromEntries(datasets.map((d) => [d, 0]));
    for (const r of await q<{ dataset: string; n: string }>(
      `SELECT dataset, sum(n)::bigint AS n FROM rel_kbase WHERE loc = '*' GROUP BY dataset`,
    ))
      populations[r.dataset] = Number(r.n);
    const pop = Object.values(populations).reduce((a, b) => a + b, 0);
    const maxShare = this.config.anonMaxSuppression;
    // The lattice, one height of the person ladders (age, area, ethnicity) at a time, each node
    // counted at every location level of each location file: persons (person-location pairs in a
    // location file) in classes smaller than k (integer age keys: the same partition as the files'
    // age bands). A node's height adds its location levels, so counting stops once the person
    // height passes the lowest qualifying node's height: no node above it could win.
    const top = { a: qi.age ? 3 : 0, r: qi.area ? 3 : 0, e: qi.ethnicity ? 2 : 0 };
    const node = classOf(qi, { age: 'n.a', area: 'n.r', ethnicity: 'n.e' }, 'b.');
    const counted: FileNodeStats[] = [];
    let nodes: NodeStats[] = [];
    let best = Infinity;
    for (let height = 0; height <= top.a + top.r + top.e && height <= best; height++) {
      const stats = await q<{
        age: number;
        area: number;
        ethnicity: number;
        dataset: string;
        ll: number;
        suppressed: string;
      }>(
        `WITH nodes AS (
           SELECT a, r, e FROM generate_series(0, ${top.a}) a, generate_series(0, ${top.r}) r,
                  generate_series(0, ${top.e}) e WHERE a + r + e = $2
         ), cls AS (
           -- grouped by output columns: a quasi-identifier not released is a constant ('*')
           SELECT a, r, e, dataset, ll, sum(n) AS size FROM (
             SELECT n.a, n.r, n.e, b.dataset, b.ll, ${node.a} AS ca, ${node.s} AS cs, ${node.r} AS cr, ${node.e} AS ce, b.loc, b.n
               FROM rel_kbase b CROSS JOIN nodes n) c
            GROUP BY a, r, e, dataset, ll, ca, cs, cr, ce, loc
         )
         SELECT a AS age, r AS area, e AS ethnicity, dataset, ll,
                coalesce(sum(size) FILTER (WHERE size < $1), 0)::bigint AS suppressed
           FROM cls GROUP BY a, r, e, dataset, ll`,
        [k, height],
      );
      counted.push(...stats.map((s) => ({ ...s, suppressed: Number(s.suppressed) })));
      nodes = combineNodes(counted, locationFiles);
      for (const n of nodes) if (withinBudget(n, populations, maxShare)) best = Math.min(best, nodeHeight(n));
    }
    if (pop === 0)
      nodes.push({
        age: 0,
        area: 0,
        ethnicity: 0,
        ...(locationFiles.length ? { location: Object.fromEntries(locationFiles.map((d) => [d, 0])) } : {}),
        suppressed: 0,
        suppressedByFile: {},
      });
    const choice = chooseNode(nodes, populations, maxShare, locations);
    if (!choice) {
      // Every node was counted. The reason names the closest miss; recipients read its counts of
      // persons by the aggregate rule, staff the exact ones.
      const miss = closestMiss(nodes, populations)!;
      const reason = (show: (n: number) => string) =>
        `k-anonymity with k=${k} would suppress more than the allowed ${Math.round(maxShare * 100)}% of a file's persons (at the least: ${miss.file}, ${show(miss.suppressed)} of ${show(miss.population)})`;
      throw new ReleaseFailure('K_ANONYMITY_UNACHIEVABLE', reason(shownCountText), reason(String));
    }
    // The classes still smaller than k at the chosen levels (each file at its own location level):
    // their persons — in a location file below `*`, their pairs — leave that file. They are found
    // by their base cells (a join on the stored columns), not by generalising every person again.
    const base = classOf(qi, levelSql(choice), 'b.');
    const chosenLl = locationFiles.length
      ? `CASE b.dataset ${locationFiles.map((d) => `WHEN '${d}' THEN ${locationLevelOf(choice, d)}`).join(' ')} ELSE 0 END`
      : '0';
    await q(
      `CREATE TEMP TABLE rel_small ON COMMIT DROP AS
       SELECT b.dataset, coalesce(b.a5, -1) AS a5, b.sex, b.eth, b.district, b.loc FROM rel_kbase b
        WHERE b.ll = ${chosenLl} AND (b.dataset, ${base.a}, ${base.r}, ${base.e}, ${base.s}, b.loc) IN (
          SELECT b.dataset, ${base.a}, ${base.r}, ${base.e}, ${base.s}, b.loc FROM rel_kbase b
           WHERE b.ll = ${chosenLl} GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(b.n) < $1)`,
      [k],
    );
    // Suppressed pairs are marked in the person's `ksup` (`<file>:<location key>`), which the
    // file's SELECT reads.
    if (locationFiles.length) await q(`ALTER TABLE ${work.rp} ADD COLUMN ksup text[]`);
    const person = baseCell(qi, 'rp.');
    const suppressedByFile: Record<string, number> = {};
    const removedByFile: Record<string, number> = {};
    for (const d of datasets) {
      const bit = FILE_BIT[d];
      const ll = locations[d] ? locationLevelOf(choice, d) : 2;
      const [{ touched, removed }] =
        ll < 2
          ? await q<{ touched: string; removed: string }>(suppressPairs(work.rp, d, ll))
          : await q<{ touched: string; removed: string }>(
              `WITH gone AS (
                 UPDATE ${work.rp} rp SET files = files & ~${bit}
                  WHERE rp.excl IS NULL AND rp.files & ${bit} <> 0
                    AND (coalesce(${person.a5}, -1), ${person.sex}, ${person.eth}, ${person.district})
                        IN (SELECT a5, sex, eth, district FROM rel_small WHERE dataset = '${d}')
                 RETURNING 1)
               SELECT count(*)::bigint AS touched, count(*)::bigint AS removed FROM gone`,
            );
      if (Number(touched) > 0) suppressedByFile[d] = Number(touched);
      if (Number(removed) > 0) removedByFile[d] = Number(removed);
    }
    const suppressed = Object.values(suppressedByFile).reduce((a, b) => a + b, 0);
    return {
      ...choice,
      k,
      population: pop,
      populationByFile: populations,
      suppressed,
      suppressedByFile,
      removedByFile,
    };
  }

  private async aggregate(
    q: <T = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<T[]>,
    spec: ReleaseSpec,
    range: EventRange,
    file: string,
  ) {
    const dims: AggregateDimension[] = spec.aggregation?.dimensions ?? [];
    const dimExpr: Record<AggregateDimension, string> = {
      sex: `coalesce(rp.sex, 'U')`,
      // Top-coded: a band above 90 is a handful of people in most cohorts.
      age_band: `CASE WHEN rp.a5 IS NULL THEN 'unknown' WHEN rp.a5 >= 90 THEN '90+' ELSE rp.a5 || '-' || (rp.a5 + 4) END`,
      ethnic_group: ethnicGroupOf('rp.eth'),
      postcode_area: areaOf('rp.district'),
      year: `coalesce(extract(year FROM ev.d)::int::text, 'unknown')`,
      code: `coalesce(ev.c, 'unknown')`,
    };
    const events = spec.datasets
      .map((d) => {
        const s = DATASET_SQL[d.dataset];
        return `SELECT rp.nhs, ${s.date} AS d, ${s.code}::text AS c FROM ${s.from}
                 WHERE ${dateFilter(s.date, range)} AND rp.excl IS NULL AND NOT ${s.blockedOwn}`;
      })
      .join(' UNION ALL ');
    const keys = dims.map((d, i) => `${dimExpr[d]} AS k${i}`);
    // SPEC §5 step 5: a minimum population behind the table and behind each value of each
    // dimension (each row and column of it), counted before any cell is shown. A cohort of one
    // person made a table of that person's own record, `*` by `*`.
    const min = this.config.aggMinPopulation;
    // One scan: the whole table and every value of every dimension, as grouping sets. The values
    // (in the order `ORDER BY` gives them) are the dimensions' domains: the table shows every cell
    // of their cross-product, empty ones as `*` (#27; `aggregate-cells.ts`).
    const sets = ['()', ...dims.map((d) => `(${dimExpr[d]})`)].join(', ');
    const grouping = dims.length ? `GROUPING(${dims.map((d) => dimExpr[d]).join(', ')})` : '0';
    const margins = await q<Record<string, string | number>>(
      `SELECT ${[...keys, `${grouping}::int AS g`, 'count(DISTINCT ev.nhs)::int AS n'].join(', ')}
         FROM (${events}) ev JOIN rp ON rp.nhs = ev.nhs
        GROUP BY GROUPING SETS (${sets}) ORDER BY ${['g', ...dims.map((_, i) => `k${i}`)].join(', ')}`,
    );
    const least = Math.min(...margins.map((m) => Number(m.n)), Infinity);
    if (!margins.length || least < min)
      throw new ReleaseFailure(
        'AGG_POPULATION_TOO_SMALL',
        `the table, or a value of one of its dimensions, has fewer than ${min} persons behind it (AGG_MIN_POPULATION)`,
      );
    // GROUPING's bit for dimension i (the leftmost argument is the highest bit) is 0 where grouped.
    const all = (1 << dims.length) - 1;
    const domains = dims.map((_, i) =>
      margins
        .filter((m) => Number(m.g) === (all ^ (1 << (dims.length - 1 - i))))
        .map((m) => String(m[`k${i}`])),
    );
    if (crossProductSize(domains) > AGG_MAX_CELLS)
      throw new ReleaseFailure(
        'AGG_TABLE_TOO_LARGE',
        `the cross-product of the dimensions' values has more than ${AGG_MAX_CELLS} cells; request fewer dimensions`,
      );
    const rows = await q<Record<string, string | number>>(
      `SELECT ${[...keys, 'count(DISTINCT ev.nhs)::int AS n'].join(', ')}
         FROM (${events}) ev JOIN rp ON rp.nhs = ev.nhs
        ${dims.length ? `GROUP BY ${dims.map((_, i) => i + 1).join(', ')}` : ''}`,
    );
    const cells = crossProductCells(
      domains,
      rows.map((r) => ({ key: dims.map((_, i) => String(r[`k${i}`])), count: Number(r.n) })),
    );
    const shown = protectCells(cells);
    const lines = [csvLine([...dims, 'patients']), ...shown.map((c) => csvLine([...c.key, c.shown]))];
    const written = await writeContent(file, lines.join(''), true, shown.length);
    return {
      file: written,
      dictionary: [
        ...dims.map((d) => [d, `dimension ${d}`] as [string, string]),
        [
          'patients',
          `distinct patients: * for 0-${PRIMARY_MAX} (every cell of the dimensions' cross-product is shown) or to protect another cell, else rounded to the nearest ${ROUND_TO}`,
        ] as [string, string],
      ],
      info: {
        dimensions: dims,
        primarySuppressionMax: PRIMARY_MAX,
        roundingBase: ROUND_TO,
        cells: shown.length,
        suppressedCells: shown.filter((c) => c.suppressed).length,
      },
    };
  }
}

/** The cohort's event date range. */
function rangeOf(spec: ReleaseSpec): EventRange {
  return { from: spec.cohort.eventsFrom, to: spec.cohort.eventsTo };
}

/** Whether any file of the release carries the field. */
function wantsOf(spec: ReleaseSpec): (f: string) => boolean {
  return (f) => spec.datasets.some((d) => d.fields.includes(f));
}

/**
 * A person's base cell: the stored values of the quasi-identifiers the files carry, a constant for
 * the others (so they split nothing). `p` prefixes the working set's columns.
 */
function baseCell(qi: QuasiIdentifiers, p = '') {
  return {
    a5: qi.age ? `${p}a5` : 'NULL::int',
    sex: qi.sex ? `coalesce(${p}sex, 'U')` : `'*'`,
    eth: qi.ethnicity ? `${p}eth` : `'*'`,
    district: qi.area ? `${p}district` : `'*'`,
  };
}

/** A chosen node's level for a location file, checked (it is written into SQL text). */
function locationLevelOf(node: LatticeNode, dataset: Dataset): number {
  const l = node.location?.[dataset];
  if (l === undefined || !Number.isInteger(l) || l < 0 || l > 2)
    throw new Error('no location level for the file');
  return l;
}

/** The quasi-identifiers the files carry (what the anonymised tier's k-anonymity counts). */
function quasiIdentifiersOf(spec: ReleaseSpec): QuasiIdentifiers {
  const wants = wantsOf(spec);
  return {
    age: wants('date_of_birth'),
    sex: wants('sex'),
    ethnicity: wants('ethnicity'),
    area: wants('postcode'),
  };
}

function quasiIdentifierNames(qi: QuasiIdentifiers): string[] {
  return (['age', 'sex', 'ethnicity', 'area'] as const).filter((n) => qi[n]);
}

/**
 * The generalisation levels the preparation chose, for the shards. An anonymised release without
 * them is refused rather than written at the finest levels.
 */
function levelsOf(spec: ReleaseSpec, work: { levels?: LatticeNode }): LatticeNode {
  if (work.levels) return work.levels;
  if (spec.tier === 'anonymised') throw new Error('the working set has no generalisation levels');
  return NO_GENERALISATION;
}

/** Error text for logs: SQL errors can echo values, so only the class and PostgreSQL code go out. */
function safeMessage(err: unknown): string {
  const e = err as { name?: string; code?: string };
  return `${e?.name ?? 'Error'}${e?.code ? ` ${e.code}` : ''}`;
}

/** The release's working tables in `release_work` (names from the release id, a UUID). */
interface WorkTables {
  rp: string;
  blocked: string;
}

function workTables(releaseId: string): WorkTables {
  const hex = releaseId.replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/.test(hex)) throw new Error('release id is not a UUID');
  return {
    rp: `release_work.r${hex}_persons`,
    blocked: `release_work.r${hex}_blocked`,
  };
}

const MIN_BIGINT = -(2n ** 63n);
const MAX_BIGINT = 2n ** 63n - 1n;

const buildDir = (build: number) => `.build-${build}`;
/** A shard's file, named by the claim that wrote it (a stalled claimant's file is never assembled). */
const shardFile = (dataset: string, shard: number, claim: number) =>
  `${dataset}.${String(shard).padStart(4, '0')}.${claim}.csv.gz`;

/** Exported snapshot ids are hex groups and dashes; they go into SET TRANSACTION SNAPSHOT as text. */
function checkSnapshotId(id: string): string {
  if (!/^[0-9A-F-]{1,64}$/.test(id)) throw new Error('unexpected snapshot id');
  return id;
}
