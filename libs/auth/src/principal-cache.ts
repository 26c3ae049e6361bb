import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig, Principal } from '@custodian/core';
import { ChangeFeed, FeedCache } from '@custodian/database';

/**
 * Sessions already checked in PostgreSQL, remembered for `CACHE_SECONDS` per process, so that an
 * authenticated request does not need a query of its own before its real work.
 *
 * Revocation stays immediate: every change to a session or user row (logout, revocation, role
 * change, disabling — by any process, or by hand in SQL) is announced on `custodian_auth` by a
 * trigger when it commits, and every process forgets that user's entries when it arrives
 * (`ChangeFeed`). The process that made the change also forgets them itself once its transaction
 * has committed (`forgetUser`), before it answers, so its own next request cannot race the
 * notification. Nothing is cached while the listening connection is down.
 */
@Injectable()
export class PrincipalCache {
  private readonly cache: FeedCache<Principal>;

  constructor(feed: ChangeFeed, @Inject(APP_CONFIG) config: AppConfig) {
    this.cache = new FeedCache(feed, config.cacheSeconds * 1000);
    // A user id, or `*` when a whole table was truncated.
    feed.on('custodian_auth', (userId) => (userId === '*' ? this.cache.clear() : this.forgetUser(userId)));
  }

  /** The principal remembered for a session, if any and still fresh. */
  get(sessionId: string, userId: string): Principal | undefined {
    const p = this.cache.get(sessionId);
    return p?.id === userId ? p : undefined;
  }

  /** Call before reading a principal from PostgreSQL; pass the result to `set`. */
  begin(): number | undefined {
    return this.cache.begin();
  }

  /** Remembers a principal just read (unless a change was heard meanwhile); no longer than its session. */
  set(principal: Principal, begun: number | undefined, sessionEnds?: Date): void {
    // Frozen: the same object serves many requests, so none of them may change it.
    Object.freeze(principal.roles);
    this.cache.set(principal.sessionId, Object.freeze(principal), begun, sessionEnds?.getTime());
  }

  /** Whether the cache is on and its change feed is listening. */
  isListening(): boolean {
    return this.cache.begin() !== undefined;
  }

  /** Forgets every session of a user (after a committed change, and on each notification). */
  forgetUser(userId: string): void {
    this.cache.delete((p) => p.id === userId);
  }
}
