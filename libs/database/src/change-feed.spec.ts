import type { DataSource } from 'typeorm';
import { ChangeFeed, FeedCache } from './change-feed';

/** A DataSource whose connection must never be touched (the feed only registers a subscriber). */
const untouchable = () =>
  ({
    subscribers: [],
    get driver() {
      throw new Error('must not open a connection');
    },
  }) as unknown as DataSource;

/** A feed that believes it is listening (as after a successful LISTEN). */
function listeningFeed(): ChangeFeed {
  const feed = new ChangeFeed(untouchable());
  (feed as unknown as { setUp(up: boolean): void }).setUp(true);
  return feed;
}

describe('FeedCache', () => {
  it('with a TTL of 0 keeps nothing and never opens a connection', () => {
    const cache = new FeedCache<number>(new ChangeFeed(untouchable()), 0);
    expect(cache.get('k')).toBeUndefined();
    cache.set('k', 1, cache.begin());
    expect(cache.get('k')).toBeUndefined();
    expect(cache.begin()).toBeUndefined();
  });

  it('keeps a value only if it was read while listening', () => {
    const cache = new FeedCache<number>(listeningFeed(), 10_000);
    cache.set('stale', 1, undefined);
    cache.set('fresh', 2, cache.begin());
    expect(cache.get('stale')).toBeUndefined();
    expect(cache.get('fresh')).toBe(2);
  });

  it('does not keep a read during which anything was invalidated (its snapshot may predate the change)', () => {
    const cache = new FeedCache<number>(listeningFeed(), 10_000);
    const begun = cache.begin();
    cache.delete((_v, k) => k === 'other'); // a change announced while the read ran
    cache.set('k', 1, begun);
    expect(cache.get('k')).toBeUndefined();
    const again = cache.begin();
    cache.set('k', 1, again);
    expect(cache.get('k')).toBe(1);
  });

  it('one read per key at a time: callers missing together share it; after an invalidation a caller reads anew', async () => {
    const cache = new FeedCache<string>(listeningFeed(), 10_000);
    const loads: ((v: string) => void)[] = [];
    const load = () => new Promise<string>((resolve) => loads.push(resolve));
    // 32 callers miss while the first read runs: one read, one value for all.
    const together = Array.from({ length: 32 }, () => cache.read('page', load));
    expect(loads).toHaveLength(1);
    // A change announced while it runs: the next caller does not join the older read.
    cache.clear();
    const after = cache.read('page', load);
    expect(loads).toHaveLength(2);
    loads[0]('before');
    loads[1]('after');
    expect(new Set(await Promise.all(together))).toEqual(new Set(['before']));
    expect(await after).toBe('after');
    // The read begun before the change is not kept; the one begun after it is.
    expect(cache.get('page')).toBe('after');
    // Not to be kept (`keep` false): never shared either.
    const a = cache.read('big', load, false);
    const b = cache.read('big', load, false);
    expect(loads).toHaveLength(4);
    loads[2]('x');
    loads[3]('y');
    expect([await a, await b]).toEqual(['x', 'y']);
    expect(cache.get('big')).toBeUndefined();
  });

  it('a failed read is shared by the callers waiting on it, and neither kept nor shared afterwards', async () => {
    const cache = new FeedCache<string>(listeningFeed(), 10_000);
    let calls = 0;
    const failing = () => {
      calls++;
      return Promise.reject(new Error('no such bid'));
    };
    const both = [cache.read('bid', failing), cache.read('bid', failing)];
    for (const r of both) await expect(r).rejects.toThrow('no such bid');
    expect(calls).toBe(1);
    await expect(cache.read('bid', () => Promise.resolve('found'))).resolves.toBe('found');
  });

  it('empties itself when the feed goes down, and keeps nothing until it is back', () => {
    const feed = listeningFeed();
    const cache = new FeedCache<number>(feed, 10_000);
    const begun = cache.begin();
    cache.set('k', 1, begun);
    (feed as unknown as { setUp(up: boolean): void }).setUp(false);
    expect(cache.size).toBe(0);
    cache.set('k', 1, begun);
    expect(cache.size).toBe(0);
  });

  it('expires entries after the TTL or at their own end, whichever is first', () => {
    vi.useFakeTimers();
    try {
      const cache = new FeedCache<number>(listeningFeed(), 10_000);
      cache.set('long', 1, cache.begin());
      cache.set('short', 2, cache.begin(), Date.now() + 1_000);
      vi.advanceTimersByTime(1_001);
      expect(cache.get('short')).toBeUndefined();
      expect(cache.get('long')).toBe(1);
      vi.advanceTimersByTime(9_000);
      expect(cache.get('long')).toBeUndefined();
    } finally {
      vi.useRealTimers();
    }
  });

  it('holds at most maxEntries, dropping the oldest', () => {
    const cache = new FeedCache<number>(listeningFeed(), 10_000, 3);
    for (let i = 0; i < 5; i++) cache.set(`k${i}`, i, cache.begin());
    expect(cache.size).toBe(3);
    expect(cache.get('k0')).toBeUndefined();
    expect(cache.get('k4')).toBe(4);
  });
});
