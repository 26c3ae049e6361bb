import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import PgBoss from 'pg-boss';
import { APP_CONFIG, AppConfig } from '@custodian/core';
import { OutageTolerantDb } from './outage-tolerant-db';
import { DATABASE_OWNER_URL } from './tokens';

export type JobHandler<T> = (data: T, job: { id: string; retryCount?: number }) => Promise<void>;

interface Registration {
  queue: string;
  handler: JobHandler<unknown>;
  concurrency: number;
}

/**
 * pg-boss on the same PostgreSQL: jobs survive restarts, are retried, and any number of worker
 * processes share them (SKIP LOCKED). Handlers register at module init; they are only consumed in
 * processes with RUN_WORKER=true (the worker, and the API's in-process worker by default). The
 * queue connects on first use, so processes that never touch jobs (most CLI commands) never open it.
 */
@Injectable()
export class JobsService implements OnApplicationShutdown {
  private readonly logger = new Logger('Jobs');
  private readonly boss: PgBoss;
  private readonly db: OutageTolerantDb;
  private readonly registrations: Registration[] = [];
  private readonly schedules: { queue: string; cron: string }[] = [];
  private started?: Promise<void>;

  constructor(
    @Inject(DATABASE_OWNER_URL) url: string,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    // Its statements ride out a database outage (retried with backoff until the server is back):
    // a worker stays up through one, and finishes the jobs it held when the server returns.
    this.db = new OutageTolerantDb(
      { connectionString: url, max: 4, application_name: 'custodian-jobs' },
      {
        // A worker waits out an outage of up to an hour; a process that only sends jobs (an API
        // request) gets its error after 30 s rather than hold the request.
        giveUpAfterMs: config.runWorker ? 3_600_000 : 30_000,
        onOutage: (state, err) =>
          state === 'down'
            ? this.logger.warn(
                { err: { code: (err as { code?: string })?.code } },
                'job queue: database unavailable; retrying',
              )
            : this.logger.log('job queue: database back'),
      },
    );
    this.boss = new PgBoss({ db: this.db, schema: 'pgboss' });
    this.boss.on('error', (err: Error) =>
      this.logger.error({ err: { message: err.message } }, 'job queue error'),
    );
  }

  private start(): Promise<void> {
    this.started ??= this.boss.start().then(() => undefined);
    return this.started;
  }

  /** Declares a queue and, in worker processes, consumes it. Call from a module's onApplicationBootstrap. */
  async work<T>(
    queue: string,
    handler: JobHandler<T>,
    opts: { concurrency?: number; retryLimit?: number; expireInSeconds?: number } = {},
  ): Promise<void> {
    await this.start();
    await this.ensureQueue(queue, opts);
    const reg = {
      queue,
      handler: handler as JobHandler<unknown>,
      concurrency: opts.concurrency ?? this.config.workerConcurrency,
    };
    this.registrations.push(reg);
    if (!this.config.runWorker) return;
    for (let i = 0; i < reg.concurrency; i++) {
      await this.boss.work<T>(queue, { batchSize: 1, pollingIntervalSeconds: 0.5 }, async ([job]) => {
        await handler(job.data, { id: job.id });
      });
    }
  }

  async send<T extends object>(
    queue: string,
    data: T,
    opts: PgBoss.SendOptions = {},
  ): Promise<string | null> {
    await this.start();
    await this.ensureQueue(queue);
    return this.boss.send(queue, data, opts);
  }

  /** A cron schedule (pg-boss keeps one per queue, whichever process registers it). */
  async schedule(queue: string, cron: string, data: object = {}): Promise<void> {
    await this.start();
    await this.ensureQueue(queue);
    this.schedules.push({ queue, cron });
    await this.boss.schedule(queue, cron, data, { tz: 'UTC' });
  }

  get instance(): PgBoss {
    return this.boss;
  }

  private async ensureQueue(
    queue: string,
    opts: { retryLimit?: number; expireInSeconds?: number } = {},
  ): Promise<void> {
    const existing = await this.boss.getQueue(queue);
    if (!existing) {
      await this.boss.createQueue(queue, {
        name: queue,
        retryLimit: opts.retryLimit ?? 5,
        retryDelay: 2,
        retryBackoff: true,
        expireInSeconds: opts.expireInSeconds ?? 3600,
      });
    }
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.started) return;
    await this.started.catch(() => undefined);
    await this.boss.stop({ graceful: true, timeout: 10_000, wait: true }).catch(() => undefined);
    await this.db.close();
  }
}
