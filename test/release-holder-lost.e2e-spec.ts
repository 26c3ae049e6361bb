import type { ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import path from 'node:path';
import { createTestApp, TestApp } from '@custodian/testing';
import { ReleaseService } from '@custodian/release';
import {
  ensureActiveBid,
  readVerifiedRelease,
  seedGpPopulation,
  seedPractice,
  spec,
  waitForRelease,
} from './release-helpers';
import { killWorker, startWorker } from './support/worker-process';

/**
 * A coordinator whose holder connection is gone (a database restart, a terminated session) while
 * it waits for a shard another live worker holds: its lock and snapshot went with the connection, so
 * it ends the attempt and the queue retries the release. Before, it waited for ever in the shard
 * loop, holding its worker's only `release.run` slot, so the release stayed `running` while the
 * orphan check queued it again every minute (CI, 2026-12-07: worker-outage). A real worker.
 */
describe('a coordinator that lost its holder connection', () => {
  let t: TestApp;
  const workers: ChildProcess[] = [];

  beforeAll(async () => {
    t = await createTestApp({ RUN_WORKER: 'false' });
    await seedPractice(t.sql);
    await seedGpPopulation(t.sql, 8000, 25);
  });
  afterAll(async () => {
    for (const w of workers) {
      w.kill('SIGCONT');
      await killWorker(w);
    }
    await t?.sql.query(`SELECT pg_advisory_unlock_all()`).catch(() => undefined);
    await t?.close();
  });

  const worker = async () => {
    const w = await startWorker(t, {
      RELEASE_SHARD_ROWS: '50000',
      RELEASE_MAX_SHARDS: '4',
      // Never lapses within the test: only the holder check can end A's wait.
      RELEASE_SHARD_LEASE_SECONDS: '600',
      RELEASE_ORPHAN_CHECK_SECONDS: '600',
    });
    workers.push(w);
    return w;
  };

  const until = async <T>(what: string, fn: () => Promise<T | undefined>, ms = 30_000): Promise<T> => {
    const t0 = Date.now();
    for (;;) {
      const v = await fn();
      if (v !== undefined) return v;
      if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  const runningShardOf = (id: string, w: ChildProcess) => async () => {
    const { rows } = await t.sql.query(
      `SELECT shard FROM release_shards WHERE release_id = $1 AND state = 'running' AND worker = $2`,
      [id, `${hostname()}:${w.pid}`.slice(0, 100)],
    );
    return rows[0]?.shard as number | undefined;
  };

  it('ends its attempt, and the retry completes the release while the other claim is still held', async () => {
    const officer = (await t.as('release_officer')).user;
    const researcher = (await t.as('researcher')).user;
    const s = spec({
      tier: 'pseudonymised',
      datasets: [{ dataset: 'gp', fields: ['nhs_number', 'sex', 'code', 'event_date'] }],
      recipients: [researcher.id],
      requestedBy: officer.id,
    });
    await ensureActiveBid(t, s);
    // A coordinates, and is paused in its first shard; the test then claims another shard as a
    // live worker would (its claim's advisory lock held on the test's own session, no table locks).
    const a = await worker();
    const { id } = await t.app.get(ReleaseService).request(s, officer as never);
    await until('A building a shard', runningShardOf(id, a));
    a.kill('SIGSTOP');
    const {
      rows: [held],
    } = await t.sql.query(
      `UPDATE release_shards SET state = 'running', claim = claim + 1, worker = 'elsewhere', heartbeat_at = now()
        WHERE release_id = $1 AND shard = (SELECT max(shard) FROM release_shards WHERE release_id = $1 AND state = 'pending')
        RETURNING build, shard, claim`,
      [id],
    );
    expect(held, 'A was paused with no shard left to claim').toBeDefined();
    await t.sql.query(`SELECT pg_advisory_lock(hashtext($1))`, [
      `release-shard:${id}:${held.build}:${held.shard}:${held.claim}`,
    ]);
    a.kill('SIGCONT');
    await until('A waiting for the shard held elsewhere', async () => {
      const { rows } = await t.sql.query(
        `SELECT count(*)::int AS n FROM release_shards WHERE release_id = $1 AND state <> 'done'`,
        [id],
      );
      return rows[0].n === 1 ? true : undefined;
    });
    // A has built the rest and waits for the shard held elsewhere. Its holder (the session holding the
    // release's advisory lock) is terminated, as a database restart would end it.
    const { rows: holders } = await until('the holder session', async () => {
      const r = await t.sql.query(
        `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1
            AND ((classid::bigint << 32) | objid::bigint) = hashtext('release:' || $1)::bigint`,
        [id],
      );
      return r.rows.length ? r : undefined;
    });
    await t.sql.query(`SELECT pg_terminate_backend($1)`, [holders[0].pid]);
    const done = await waitForRelease(t, id, 45_000);
    expect(done).toMatchObject({ state: 'completed', failure_reason: null });
    const { rows } = await t.sql.query(`SELECT attempts FROM releases WHERE id = $1`, [id]);
    expect(rows[0].attempts).toBe(2);
    const { manifest } = readVerifiedRelease(path.join(t.config.dataDir, id));
    expect(manifest.files.find((f) => f.name === 'gp.csv.gz')!.rows).toBe(200_000);
  }, 150_000);
});
