import { chmod, mkdir, rm } from 'node:fs/promises';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { PoolClient } from 'pg';
import { DataSource } from 'typeorm';
import { AuditService } from '@custodian/audit';
import { APP_CONFIG, AppConfig } from '@custodian/core';
import { JobsService } from '@custodian/database';
import { NotificationsService } from '@custodian/notifications';
import { RegisterLogService, RegisterService } from '@custodian/register';
import path from 'node:path';
import { bytesNeeded, DiskFull, ensureRoom, isDiskFull } from '../disk-space';
import { LatticeNode } from '../k-anonymity';
import { ReleaseKeys } from '../keys';
import { PRIVATE_DIR_MODE } from '../release-files';
import { NO_GENERALISATION } from '../release-sql';
import { objectionPolicy, specProblems } from '../release-spec';
import { RELEASE_FAILURES } from '../release.errors';
import { computeRiskReport } from '../risk-report';
import { assembleFiles, manifestOf, publishFiles } from './assemble';
import {
  buildDir,
  ClaimedRelease,
  dropWork,
  EngineContext,
  enterStage,
  MAX_ATTEMPTS,
  MAX_ORPHANED_ATTEMPTS,
  ReleaseFailure,
  releaseDir,
  withClient,
  workTables,
} from './context';
import { BuiltRelease, diskFullFailure, recordCompleted, recordFailed } from './outcome';
import { Prepared, prepareOnSnapshot } from './prepare';
import { buildShards, helpShards, ShardParts } from './shards';
import { verify } from './verify';

/**
 * The release job's coordinator: cohort → objections → tier transforms → k-anonymity / disclosure
 * control → files + manifest, one stage a file beside this one (docs/ARCHITECTURE.md). It claims
 * the release, holds its advisory lock and the exported snapshot every stage reads in, runs the
 * stages in order, and records the outcome; unexpected errors are retried by the queue.
 */
@Injectable()
export class ReleaseEngine {
  private readonly logger = new Logger('ReleaseEngine');

  /** This process's attempts in flight, by release (the orphan check reads their stage). */
  private readonly running = new Map<string, ClaimedRelease>();

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly keys: ReleaseKeys,
    private readonly audit: AuditService,
    private readonly jobs: JobsService,
    private readonly register: RegisterService,
    private readonly registerLog: RegisterLogService,
    private readonly notifications: NotificationsService,
  ) {}

  private get ctx(): EngineContext {
    return {
      db: this.db,
      config: this.config,
      keys: this.keys,
      audit: this.audit,
      jobs: this.jobs,
      register: this.register,
      registerLog: this.registerLog,
      notifications: this.notifications,
    };
  }

  /** Where this process's attempt at `releaseId` is, if one is in flight here. */
  stageOf(releaseId: string): { name: string; since: number } | undefined {
    const rel = this.running.get(releaseId);
    return rel && (rel.stage ?? { name: 'claimed', since: Date.now() });
  }

  dirOf(releaseId: string): string {
    return releaseDir(this.config, releaseId);
  }

  async run(releaseId: string): Promise<void> {
    // The holder connection: the release's advisory lock (one coordinator per release; freed if the
    // process dies, so recoverOrphans() can queue it again) and, while shards are built, the
    // REPEATABLE READ transaction whose exported snapshot every shard reads the source tables in.
    await withClient(this.db, async (holder) => {
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
    rel.holder = holder;
    this.running.set(releaseId, rel);
    try {
      await this.attempt(rel, holder);
    } finally {
      if (this.running.get(releaseId) === rel) this.running.delete(releaseId);
    }
  }

  private async attempt(rel: ClaimedRelease, holder: PoolClient): Promise<void> {
    const releaseId = rel.id;
    const dir = this.dirOf(releaseId);
    const work = workTables(releaseId);
    // Past MAX_ORPHANED_ATTEMPTS only if earlier attempts never reached the failure handling below: their
    // worker died under them (out of memory, killed), and recoverOrphans queued the release again.
    // Tried again and again, it would take each worker down in turn: it fails instead.
    if (rel.attempts > MAX_ORPHANED_ATTEMPTS) {
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      await dropWork(this.db, work).catch(() => undefined);
      this.logger.error(
        { releaseId, attempts: rel.attempts - 1 },
        'release failed: every attempt stopped its worker (see the worker log for why)',
      );
      await recordFailed(
        this.ctx,
        rel,
        new ReleaseFailure(
          RELEASE_FAILURES.RELEASE_INTERNAL_ERROR,
          'the release could not be produced; see the worker log',
          `each of ${rel.attempts - 1} attempts stopped its worker (out of memory, or killed); see the worker log`,
        ),
      );
      return;
    }
    try {
      await rm(dir, { recursive: true, force: true });
      await mkdir(path.join(dir, buildDir(rel.attempts)), { recursive: true, mode: PRIVATE_DIR_MODE });
      // recursive mkdir leaves folders that existed (DATA_DIR itself) as they were.
      await chmod(this.config.dataDir, PRIVATE_DIR_MODE);
      await dropWork(this.db, work);
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
      enterStage(rel, 'recording');
      await holder.query('COMMIT');
      await recordCompleted(this.ctx, rel, out);
    } catch (err) {
      await holder.query('ROLLBACK').catch(() => undefined);
      // Partial files go first: a full disk's figures are then the room the release could have.
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      const failure =
        err instanceof ReleaseFailure
          ? err
          : err instanceof DiskFull || isDiskFull(err)
            ? await diskFullFailure(this.ctx, err, rel)
            : rel.attempts >= MAX_ATTEMPTS
              ? new ReleaseFailure(
                  RELEASE_FAILURES.RELEASE_INTERNAL_ERROR,
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
      await recordFailed(this.ctx, rel, failure);
    } finally {
      // The shard rows stay (which worker built what, and when); the working tables go — after the
      // release is recorded: a helper paused in a shard's transaction holds a lock on them, and a
      // DROP before completion waited for it (the shard-lease test hung when they were dropped first).
      await dropWork(this.db, work).catch(() => undefined);
    }
  }

  /**
   * The stages in order: prepare (one transaction on the exported snapshot: cohort, objections,
   * identifiers, k-anonymity, counts; the working set committed to `release_work`), then the
   * shards (this worker and any other that answers the `release.shard` job), assembly of the
   * files, their independent verification, and the manifest that makes them visible.
   */
  private async build(rel: ClaimedRelease, dir: string, snapshot: string): Promise<BuiltRelease> {
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
    enterStage(rel, 'preparing');
    const prepared = await prepareOnSnapshot(this.ctx, rel, dir, snapshot, policy, recordLevel, slowSteps);

    let shards = 0;
    let parts: ShardParts | undefined;
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
      parts = await this.buildShards(rel, snapshot, prepared, levels);
      shards = parts.shards;
      t2 = Date.now();
    }
    enterStage(rel, 'assembling');
    const { files, done } = await assembleFiles(this.ctx, rel, dir, prepared, parts);
    enterStage(rel, 'verifying');
    const verification = await verify(this.ctx, rel, dir, files, prepared, snapshot);
    // Transparency (#24): the risk and linkage report, once the verifier has passed the files.
    const tRisk = Date.now();
    const riskReport = await computeRiskReport((sql, params) => this.db.query(sql, params), {
      tier: spec.tier,
      spec,
      files,
      // The shards' tallies of the files' bytes (risk-report.ts), of the claims assembled.
      risk: parts && {
        table: workTables(rel.id).risk,
        parts: parts.files.map((f) => ({ build: rel.attempts, shard: f.shard, claim: f.claim })),
      },
      linkage: prepared.linkage,
      suppressed: prepared.kAnon?.suppressed,
      suppressedByFile: prepared.kAnon?.suppressedByFile,
    });
    const riskMs = Date.now() - tRisk;
    const manifest = manifestOf(this.ctx, rel, policy, prepared, files, verification);
    await publishFiles(dir, manifest, files);
    const timings = { prepareMs: t1 - t0, shardsMs: t2 - t1, assembleMs: Date.now() - t2, riskMs, slowSteps };
    return { files, manifest, excluded: prepared.excluded, rows: done, shards, timings, riskReport };
  }

  /** The shards stage (shards.ts); a method so that tests can interpose between the stages. */
  private async buildShards(
    rel: ClaimedRelease,
    snapshot: string,
    prepared: Prepared,
    levels: LatticeNode,
  ): Promise<ShardParts> {
    return buildShards(this.ctx, rel, snapshot, prepared, levels);
  }

  /**
   * Builds whatever shards of the release's current build are not done and not held by another
   * worker. Called by the coordinator and by the `release.shard` job in any worker process.
   * Returns whether it built any.
   */
  async helpShards(releaseId: string, build: number): Promise<boolean> {
    return helpShards(this.ctx, releaseId, build);
  }
}

/** Error text for logs: SQL errors can echo values, so only the class and PostgreSQL code go out. */
function safeMessage(err: unknown): string {
  const e = err as { name?: string; code?: string };
  return `${e?.name ?? 'Error'}${e?.code ? ` ${e.code}` : ''}`;
}
