import { Pool, PoolConfig, QueryResult } from 'pg';
import { isDatabaseUnavailable } from '@custodian/core';

export interface OutageOptions {
  /** First wait after a failed statement; doubled each time up to `maxDelayMs`. */
  firstDelayMs?: number;
  maxDelayMs?: number;
  /** How long one statement keeps trying before its caller gets the error. */
  giveUpAfterMs?: number;
  /** Told once when an outage begins and once when it ends. */
  onOutage?: (state: 'down' | 'up', err?: unknown) => void;
}

/** What a statement gives once the pool is closed: a promise that never settles (holds no timer). */
const NEVER = new Promise<QueryResult>(() => undefined);

/**
 * The database pg-boss runs its statements on (its `db` option): a pool of its own whose
 * statements, when the server cannot be reached, are tried again with backoff until it is back
 * rather than failing at once. pg-boss completes and fails jobs without awaiting the promise
 * (pg-boss 10 `manager.js`, `onFetch`): a rejection there had no handler and ended the worker
 * process at the first outage. Its statements are safe to repeat (fetch, complete and fail act
 * on jobs in a given state; a job sent twice is a duplicate delivery, which every handler allows).
 */
export class OutageTolerantDb {
  readonly pool: Pool;
  private closed = false;
  private down = false;
  private readonly wakers = new Set<() => void>();

  constructor(
    config: PoolConfig,
    private readonly opts: OutageOptions = {},
  ) {
    this.pool = new Pool(config);
    // An idle client's connection dropping is an outage to ride out, not a crash.
    this.pool.on('error', () => undefined);
  }

  async executeSql(text: string, values?: unknown[]) {
    const first = this.opts.firstDelayMs ?? 250;
    const max = this.opts.maxDelayMs ?? 5_000;
    const giveUp = Date.now() + (this.opts.giveUpAfterMs ?? 3_600_000);
    for (let delay = first; ; delay = Math.min(max, delay * 2)) {
      // Closed (shutting down): pg-boss still completes or fails a job in flight without awaiting
      // it, so a rejection here would be unhandled, and an empty result breaks its reading of the
      // answer (`rows[0].count`). The statement never settles: nothing is done, the job stays
      // active and its expiry hands it to another worker, as after a crash.
      if (this.closed) return NEVER;
      try {
        const result = await this.pool.query(text, values as unknown[]);
        if (this.down) {
          this.down = false;
          this.opts.onOutage?.('up');
        }
        return result;
      } catch (err) {
        if (this.closed) return NEVER;
        if (!isDatabaseUnavailable(err) || Date.now() + delay > giveUp) throw err;
        if (!this.down) {
          this.down = true;
          this.opts.onOutage?.('down', err);
        }
        await this.sleep(delay);
      }
    }
  }

  /** Stops retrying (statements waiting, and any sent later, never settle) and closes the pool. */
  async close(): Promise<void> {
    this.closed = true;
    for (const wake of this.wakers) wake();
    await this.pool.end().catch(() => undefined);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }
}
