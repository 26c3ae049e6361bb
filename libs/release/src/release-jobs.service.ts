import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { RELEASE_DESTROY_QUEUE, type ReleaseDestroyJob } from '@custodian/bids';
import { APP_CONFIG, AppConfig } from '@custodian/core';
import { JobsService } from '@custodian/database';
import { ReleaseEngine } from './engine/release.engine';
import { ReleaseDestruction } from './release-destruction.service';
import { RELEASE_RUN_QUEUE, RELEASE_SHARD_QUEUE } from './release.types';

/**
 * The release module's queues: `release.run` (the engine), `release.shard` (any worker helps
 * build a running release's shards), `release.destroy` (sent by the bids module on expiry or
 * revocation), and the sweep that queues again a release whose builder died.
 */
@Injectable()
export class ReleaseJobs implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ReleaseJobs');
  private orphanTimer?: NodeJS.Timeout;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly jobs: JobsService,
    private readonly engine: ReleaseEngine,
    private readonly destruction: ReleaseDestruction,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.jobs.work<{ releaseId: string }>(
      RELEASE_RUN_QUEUE,
      (data) => this.engine.run(data.releaseId),
      {
        retryLimit: 5,
        expireInSeconds: 4 * 3600,
      },
    );
    // Any worker process helps build the shards of a running release.
    await this.jobs.work<{ releaseId: string; build: number }>(
      RELEASE_SHARD_QUEUE,
      async (data) => {
        await this.engine.helpShards(data.releaseId, data.build);
      },
      { retryLimit: 2, expireInSeconds: 4 * 3600 },
    );
    await this.jobs.work<ReleaseDestroyJob>(RELEASE_DESTROY_QUEUE, (data) =>
      this.destruction.destroy(data.bidId, data.reason, data.beforeVersion),
    );
    if (!this.config.runWorker) return;
    await this.recoverOrphans();
    // And every so often while the worker lives: a release whose builder died under another live
    // worker was `running` until some worker started (or its job expired, hours later).
    const every = this.config.releaseOrphanCheckSeconds * 1000;
    this.orphanTimer = setInterval(() => {
      this.recoverOrphans().catch((err) =>
        this.logger.warn(
          { err: { code: (err as { code?: string })?.code } },
          'orphaned release check failed',
        ),
      );
    }, every);
    this.orphanTimer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.orphanTimer);
  }

  /**
   * A worker killed mid-release leaves its release `running` and its queue job active until the
   * job expires. At worker start, and every RELEASE_ORPHAN_CHECK_SECONDS after, every `running`
   * release that no live worker is building (its advisory lock is free) is queued again; the engine
   * starts it afresh, with a new snapshot.
   */
  async recoverOrphans(): Promise<number> {
    const rows: { id: string }[] = await this.db.query(`SELECT id FROM releases WHERE state = 'running'`);
    let requeued = 0;
    for (const { id } of rows) {
      const free = await this.db.transaction(async (tx) => {
        const [{ ok }] = await tx.query(`SELECT pg_try_advisory_xact_lock(hashtext($1)) AS ok`, [
          `release:${id}`,
        ]);
        return ok as boolean;
      });
      if (!free) continue;
      // Free, yet this process has an attempt at it in flight: the attempt lost its holder
      // connection and has not ended. Said with its stage (what it waits on), so a worker held by
      // one can be told apart from a dead one; the attempt ends at its next check of the holder.
      const stage = this.engine.stageOf(id);
      if (stage)
        this.logger.warn(
          { releaseId: id, stage: stage.name, forSeconds: Math.round((Date.now() - stage.since) / 1000) },
          'a release attempt in this worker has lost its lock and is still running',
        );
      // No singleton throttle: a slot's key outlives the job (pg-boss 10 keeps it on completed and
      // failed jobs), so a release whose recovered builder died again in the same period was
      // never queued again. A duplicate finds the release locked, or done, and changes nothing.
      await this.jobs.send(RELEASE_RUN_QUEUE, { releaseId: id });
      requeued++;
    }
    if (requeued) this.logger.warn({ requeued }, 'orphaned releases queued again');
    return requeued;
  }
}
