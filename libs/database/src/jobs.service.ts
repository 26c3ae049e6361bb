import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import PgBoss from 'pg-boss';
import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@custodian/core';
import { APP_ROLE } from './connection';
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
  /** This process's pg-boss workers, by queue (woken when this process enqueues a job). */
  private readonly workers = new Map<string, string[]>();
  /** Queues given a job in a transaction not yet committed, by its query runner. */
  private readonly pending = new WeakMap<QueryRunner, Set<string>>();
  private readonly hooked = new WeakSet<DataSource>();

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
    this.started ??= this.boss
      .start()
      .then(() => this.grantEnqueue())
      .catch((err: unknown) => {
        this.started = undefined; // the next call tries again (the database may be back)
        throw err;
      });
    return this.started;
  }

  /**
   * The application role may add jobs (and only that: read the queues' settings, insert a job and
   * read back its id),
   * so a job is enqueued in the transaction of the change that announces it (`sendInTransaction`).
   * pg-boss creates its schema at start, after the migrations: granted here, by its owner.
   */
  private async grantEnqueue(): Promise<void> {
    const db = this.boss.getDb();
    const granted = async () => {
      const { rows } = await db.executeSql(
        `SELECT has_table_privilege($1, 'pgboss.job', 'INSERT') AND has_column_privilege($1, 'pgboss.job', 'id', 'SELECT')
                AND has_table_privilege($1, 'pgboss.queue', 'SELECT') AS ok`,
        [APP_ROLE],
      );
      return rows[0]?.ok === true;
    };
    // Processes starting together may grant at once ("tuple concurrently updated"): look again.
    for (let attempt = 1; !(await granted()); attempt++) {
      try {
        await db.executeSql(
          `GRANT USAGE ON SCHEMA pgboss TO ${APP_ROLE}; GRANT SELECT ON pgboss.queue TO ${APP_ROLE}; GRANT INSERT, SELECT (id) ON pgboss.job TO ${APP_ROLE}`,
          [],
        );
      } catch (err) {
        if (attempt >= 3) throw err;
        await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
  }

  /** Declares a queue and, in worker processes, consumes it. Call from a module's onApplicationBootstrap. */
  async work<T>(
    queue: string,
    handler: JobHandler<T>,
    opts: { concurrency?: number; retryLimit?: number; retryDelay?: number; expireInSeconds?: number } = {},
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
      const id = await this.boss.work<T>(
        queue,
        { batchSize: 1, pollingIntervalSeconds: 0.5 },
        async ([job]) => {
          await handler(job.data, { id: job.id });
        },
      );
      this.workers.set(queue, [...(this.workers.get(queue) ?? []), id]);
    }
  }

  /**
   * Wakes this process's own workers of `queue` (if it runs any): they look for a job now instead of
   * at their next poll (up to 0.5 s, pg-boss's shortest). Other processes' workers find it at theirs.
   * A worker woken for nothing looks once and waits again; one busy looks again when it is done.
   */
  private wake(queue: string): void {
    for (const id of this.workers.get(queue) ?? []) this.boss.notifyWorker(id);
  }

  /** Wakes the workers of the queues `runner`'s transaction gave jobs, once it has committed. */
  private wakeAfterCommit(tx: EntityManager, queue: string): void {
    const runner = tx.queryRunner;
    if (!runner || !this.workers.has(queue)) return;
    const ds = tx.connection;
    if (!this.hooked.has(ds)) {
      this.hooked.add(ds);
      // Also called when a savepoint is released or rolled back: only the outermost end counts.
      const ended = (r: QueryRunner | undefined, committed: boolean) => {
        const queues = r && !r.isTransactionActive ? this.pending.get(r) : undefined;
        if (!r || !queues) return;
        this.pending.delete(r);
        if (committed) queues.forEach((q) => this.wake(q));
      };
      ds.subscribers.push({
        afterTransactionCommit: (e) => ended(e.queryRunner, true),
        afterTransactionRollback: (e) => ended(e.queryRunner, false),
      });
    }
    const queues = this.pending.get(runner) ?? new Set<string>();
    queues.add(queue);
    this.pending.set(runner, queues);
  }

  async send<T extends object>(
    queue: string,
    data: T,
    opts: PgBoss.SendOptions = {},
  ): Promise<string | null> {
    await this.start();
    await this.ensureQueue(queue);
    const id = await this.boss.send(queue, data, opts);
    this.wake(queue);
    return id;
  }

  /**
   * Enqueues a job through the caller's transaction: it exists if and only if the change that
   * announces it commits. A database lost right after the commit cannot lose the job, and a
   * rolled-back change leaves no job behind. (The queue itself is declared first, outside it.)
   */
  async sendInTransaction<T extends object>(
    tx: EntityManager,
    queue: string,
    data: T,
    opts: Omit<PgBoss.SendOptions, 'db'> = {},
  ): Promise<string | null> {
    await this.start();
    await this.ensureQueue(queue);
    const db: PgBoss.Db = {
      executeSql: async (text, values) => {
        const result = await tx.queryRunner!.query(text, values, true);
        return { rows: (result.records ?? []) as unknown[] as never[] };
      },
    };
    const id = await this.boss.send(queue, data, { ...opts, db });
    this.wakeAfterCommit(tx, queue);
    return id;
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
    opts: { retryLimit?: number; retryDelay?: number; expireInSeconds?: number } = {},
  ): Promise<void> {
    const existing = await this.boss.getQueue(queue);
    if (!existing) {
      await this.boss.createQueue(queue, {
        name: queue,
        retryLimit: opts.retryLimit ?? 5,
        retryDelay: opts.retryDelay ?? 2,
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
