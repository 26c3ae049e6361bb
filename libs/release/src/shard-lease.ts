import type { PoolClient } from 'pg';
import type { DataSource } from 'typeorm';

/** One shard of one build of a release. */
export interface ShardRef {
  releaseId: string;
  build: number;
  shard: number;
}

/** The session advisory lock a claimant holds for as long as its connection lives. */
const lockKey = (s: ShardRef, claim: number) => `release-shard:${s.releaseId}:${s.build}:${s.shard}:${claim}`;

/**
 * Claims a shard for `client`'s session; returns the claim number, or undefined when the shard is
 * done or held by a live claimant. A `running` shard is taken over when its claimant is gone (its
 * claim's advisory lock is free: the process died, its connection closed) or stalled (no heartbeat
 * for `leaseSeconds`: a paused process keeps its connection, and its lock, for as long as it is
 * paused). Each claim numbers the shard anew; the claimant's file names and its final `done` carry
 * the number, so whatever a stalled claimant writes when it wakes is refused and never assembled.
 * The new claim's advisory lock is taken before the claim commits, so nobody sees it free meanwhile.
 */
export async function claimShard(
  client: PoolClient,
  s: ShardRef,
  worker: string,
  leaseSeconds: number,
): Promise<number | undefined> {
  await client.query('BEGIN');
  try {
    const [row] = (
      await client.query<{ claim: number; state: string; lapsed: boolean | null }>(
        `SELECT claim, state, heartbeat_at < now() - make_interval(secs => $4) AS lapsed FROM release_shards
          WHERE release_id = $1 AND build = $2 AND shard = $3 FOR UPDATE SKIP LOCKED`,
        [s.releaseId, s.build, s.shard, leaseSeconds],
      )
    ).rows;
    let take = row !== undefined && row.state === 'pending';
    if (row?.state === 'running')
      take =
        row.lapsed === true ||
        (
          await client.query<{ gone: boolean }>(`SELECT pg_try_advisory_xact_lock(hashtext($1)) AS gone`, [
            lockKey(s, row.claim),
          ])
        ).rows[0].gone;
    if (!take) {
      await client.query('ROLLBACK');
      return undefined;
    }
    const claim = row!.claim + 1;
    await client.query(`SELECT pg_advisory_lock(hashtext($1))`, [lockKey(s, claim)]);
    await client.query(
      `UPDATE release_shards SET state = 'running', claim = $4, worker = $5, started_at = now(), heartbeat_at = now()
        WHERE release_id = $1 AND build = $2 AND shard = $3`,
      [s.releaseId, s.build, s.shard, claim, worker],
    );
    await client.query('COMMIT');
    return claim;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** Gives the claim's advisory lock back (the connection may be gone already, which frees it too). */
export async function releaseClaim(client: PoolClient, s: ShardRef, claim: number): Promise<void> {
  await client.query(`SELECT pg_advisory_unlock(hashtext($1))`, [lockKey(s, claim)]).catch(() => undefined);
}

/**
 * Renews the claim every quarter of the lease, on a pooled connection (the claimant's own is busy
 * with its COPY). When the claim is found taken over, `onLost` is called once (the claimant ends
 * its work). A renewal that fails (the database unreachable) is skipped: the claim may lapse, and
 * the claimant's `done` then finds it lost. Returns the function that stops it.
 */
export function keepClaim(
  db: Pick<DataSource, 'query'>,
  s: ShardRef,
  claim: number,
  leaseSeconds: number,
  onLost: () => void,
): () => void {
  const timer = setInterval(
    () => {
      db.query(
        `UPDATE release_shards SET heartbeat_at = now()
          WHERE release_id = $1 AND build = $2 AND shard = $3 AND claim = $4 AND state = 'running'`,
        [s.releaseId, s.build, s.shard, claim],
      ).then(
        // TypeORM gives [rows, affected] for an UPDATE.
        (result: [unknown[], number]) => {
          if (result[1] === 0) {
            clearInterval(timer);
            onLost();
          }
        },
        () => undefined,
      );
    },
    Math.max(250, (leaseSeconds * 1000) / 4),
  );
  timer.unref();
  return () => clearInterval(timer);
}
