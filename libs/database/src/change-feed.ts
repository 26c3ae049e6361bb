import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Client, ClientConfig } from 'pg';
import { DataSource, EntitySubscriberInterface } from 'typeorm';

/** Channels the schema's triggers announce changes on (migrations 1764000008000 and 1764000043000). */
export const CHANGE_CHANNELS = [
  'custodian_auth',
  'custodian_bids',
  'custodian_catalog',
  'custodian_register',
] as const;
export type ChangeChannel = (typeof CHANGE_CHANNELS)[number];

const RECONNECT_MS = 1_000;
/** How often the listening connection proves it is alive, and how long it may take to answer. */
const HEARTBEAT_MS = 5_000;
const HEARTBEAT_TIMEOUT_MS = 2_000;

/**
 * What this process hears about committed changes, for caches that must never serve stale data
 * for longer than a notification takes to arrive:
 * - `on(channel)`: triggers announce changes committed by any process (or by hand in SQL) on
 *   `LISTEN` channels, delivered when the transaction commits;
 * - `onReset`: the listening connection went down or came up — anything cached may have missed a
 *   change, so caches empty themselves; `listening` is false until it is back;
 * - `onLocalCommit`: a transaction of this process's DataSource committed, before its caller
 *   continues, so a process always reads its own writes even before their notification arrives.
 *
 * The connection is opened on the first `listen()`, so processes whose caches are never used
 * (workers, the CLI) hold none; after a failure, at most one attempt a second.
 */
@Injectable()
export class ChangeFeed implements OnApplicationShutdown {
  private readonly log = new Logger(ChangeFeed.name);
  private readonly handlers = new Map<string, Set<(payload: string) => void>>();
  private readonly resets = new Set<() => void>();
  private readonly commits = new Set<() => void>();
  private client?: Client;
  private up = false;
  private connecting = false;
  private closed = false;
  private nextAttempt = 0;
  private heartbeat?: NodeJS.Timeout;

  constructor(@InjectDataSource() private readonly db: DataSource) {
    const commits = this.commits;
    const subscriber: EntitySubscriberInterface = {
      afterTransactionCommit: () => commits.forEach((fn) => fn()),
    };
    this.db.subscribers.push(subscriber);
  }

  get listening(): boolean {
    return this.up;
  }

  on(channel: ChangeChannel, fn: (payload: string) => void): void {
    if (!this.handlers.has(channel)) this.handlers.set(channel, new Set());
    this.handlers.get(channel)!.add(fn);
  }

  onReset(fn: () => void): void {
    this.resets.add(fn);
  }

  onLocalCommit(fn: () => void): void {
    this.commits.add(fn);
  }

  /** Starts listening if not already (cheap to call on every request). */
  listen(): void {
    if (this.up || this.connecting || this.closed || Date.now() < this.nextAttempt) return;
    this.connecting = true;
    this.nextAttempt = Date.now() + RECONNECT_MS;
    // The pool's own settings (URL, application role, timeouts), for one connection of our own.
    const poolOptions = (this.db.driver as unknown as { master: { options: ClientConfig } }).master.options;
    const client = new Client({ ...poolOptions, application_name: 'custodian-change-feed', keepAlive: true });
    const down = (err?: Error) => {
      if (this.client !== client) return;
      clearInterval(this.heartbeat);
      this.client = undefined;
      this.setUp(false);
      client.end().catch(() => undefined);
      if (err && !this.closed)
        this.log.warn(`change feed lost (${err.message}); caches are off until it is back`);
    };
    client.on('notification', (n) => this.handlers.get(n.channel)?.forEach((fn) => fn(n.payload ?? '')));
    client.on('error', down);
    client.on('end', () => down());
    this.client = client;
    client
      .connect()
      .then(() => client.query(CHANGE_CHANNELS.map((c) => `LISTEN ${c};`).join(' ')))
      .then(() => {
        if (this.client !== client || this.closed) return void client.end().catch(() => undefined);
        this.setUp(true);
        // A connection cut without an error (an idle timeout on the way, a failover) would leave
        // the caches trusting a feed that hears nothing: it must answer a query every few seconds.
        this.heartbeat = setInterval(() => {
          const timeout = new Promise<never>((_, reject) =>
            setTimeout(() => reject(new Error('heartbeat timed out')), HEARTBEAT_TIMEOUT_MS).unref(),
          );
          Promise.race([client.query('SELECT 1'), timeout]).catch((e: Error) => down(e));
        }, HEARTBEAT_MS).unref();
      })
      .catch((err: Error) => down(err))
      .finally(() => {
        this.connecting = false;
      });
  }

  onApplicationShutdown(): Promise<void> {
    this.closed = true;
    clearInterval(this.heartbeat);
    const client = this.client;
    this.client = undefined;
    this.setUp(false);
    return client ? client.end().catch(() => undefined) : Promise.resolve();
  }

  private setUp(up: boolean): void {
    this.up = up;
    this.resets.forEach((fn) => fn());
  }
}

/**
 * A small map of values read from PostgreSQL, kept for `ttlMs` and only while the change feed is
 * listening. A read is kept only if nothing was invalidated while it ran: take `begin()` before the
 * query and pass it to `set`. Every invalidation (`delete`, `clear`, the feed going down or up)
 * starts a new epoch, so a read whose snapshot may predate a change that was announced (or missed)
 * while it ran is answered but not kept.
 */
export class FeedCache<V> {
  private readonly entries = new Map<string, { value: V; until: number }>();
  /** Reads running now, per key and the epoch they began in (see `read`). */
  private readonly running = new Map<string, { epoch: number; value: Promise<V> }>();
  private epoch = 0;

  constructor(
    private readonly feed: ChangeFeed,
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {
    feed.onReset(() => this.clear());
  }

  get enabled(): boolean {
    return this.ttlMs > 0;
  }

  /** Call before reading from PostgreSQL; undefined when nothing read now could be kept. */
  begin(): number | undefined {
    return this.ttlMs > 0 && this.feed.listening ? this.epoch : undefined;
  }

  get(key: string): V | undefined {
    if (!this.ttlMs) return undefined;
    if (!this.feed.listening) {
      this.feed.listen();
      return undefined;
    }
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.until > Date.now()) return e.value;
    this.entries.delete(key);
    return undefined;
  }

  set(key: string, value: V, begun: number | undefined, notAfter?: number): void {
    if (begun === undefined || begun !== this.epoch || !this.feed.listening) return;
    const now = Date.now();
    if (this.entries.size >= this.maxEntries) {
      for (const [k, e] of this.entries) if (e.until <= now) this.entries.delete(k);
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    }
    this.entries.set(key, { value, until: Math.min(now + this.ttlMs, notAfter ?? Infinity) });
  }

  /**
   * The kept value, else `load()` — one read per key at a time: callers who miss while a read of
   * the same key begun in this epoch runs share it (a page of 50 bids costs ~3 ms of CPU to read
   * and encode; when it expires, 32 callers missing at once each paid it, and the list's p99 with
   * them — docs/BENCHMARKS.md). A caller who comes after an invalidation starts a read of its own,
   * so sharing serves nothing older than keeping does. `keep` false: read, never kept nor shared.
   */
  read(key: string, load: () => Promise<V>, keep = true): Promise<V> {
    const hit = this.get(key);
    if (hit !== undefined) return Promise.resolve(hit);
    const begun = keep ? this.begin() : undefined;
    if (begun === undefined) return load();
    const running = this.running.get(key);
    if (running && running.epoch === begun) return running.value;
    const value = load().then((v) => {
      this.set(key, v, begun);
      return v;
    });
    const entry = { epoch: begun, value };
    this.running.set(key, entry);
    const done = () => {
      if (this.running.get(key) === entry) this.running.delete(key);
    };
    value.then(done, done);
    return value;
  }

  delete(pred: (value: V, key: string) => boolean): void {
    this.epoch++;
    for (const [k, e] of this.entries) if (pred(e.value, k)) this.entries.delete(k);
  }

  clear(): void {
    this.epoch++;
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
