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
 * Shard leases (#29): a worker paused (SIGSTOP) while it holds a shard no longer stalls the
 * release for as long as it is paused. Its claim lapses after RELEASE_SHARD_LEASE_SECONDS without
 * a heartbeat, another worker builds the shard, and what the paused one does when it resumes is
 * rejected by its claim number (its file is never assembled). Two real worker processes.
 */
describe('shard leases', () => {
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
    await t?.close();
  });

  const LEASE = 15;
  const worker = async () => {
    const w = await startWorker(t, {
      // Four shards of 50k rows: each takes long enough (about a second) that neither worker can
      // run through the others' shards between the poll that sees it building one and its pause.
      // At 8 × 25k, CI's load once let A build nearly every shard before it was paused, and B
      // found none to take ("timed out waiting for B building a shard").
      RELEASE_SHARD_ROWS: '50000',
      RELEASE_MAX_SHARDS: '4',
      RELEASE_SHARD_LEASE_SECONDS: String(LEASE),
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

  const unclaimed = async (id: string) => {
    const { rows } = await t.sql.query(
      `SELECT count(*)::int AS n FROM release_shards WHERE release_id = $1 AND state <> 'done' AND state <> 'running'`,
      [id],
    );
    return rows[0].n as number;
  };

  it('a helper paused holding a shard: the coordinator takes the shard over after the lease and the release completes, correct', async () => {
    const officer = (await t.as('release_officer')).user;
    const researcher = (await t.as('researcher')).user;
    const s = spec({
      tier: 'pseudonymised',
      datasets: [{ dataset: 'gp', fields: ['nhs_number', 'sex', 'code', 'event_date'] }],
      recipients: [researcher.id],
      requestedBy: officer.id,
    });
    await ensureActiveBid(t, s);
    // A coordinates (the only worker when the release is queued) and is paused in its first shard.
    const a = await worker();
    const { id } = await t.app.get(ReleaseService).request(s, officer as never);
    await until('A building a shard', runningShardOf(id, a));
    a.kill('SIGSTOP');
    expect(await unclaimed(id), 'A was paused with no shard left for B').toBeGreaterThan(0);
    // B answers a `release.shard` job and takes a shard; then B is paused and A resumes.
    const b = await worker();
    await until('B building a shard', runningShardOf(id, b));
    b.kill('SIGSTOP');
    // The shard B holds now that it is stopped (it may have moved on since the poll saw it).
    const held = await runningShardOf(id, b)();
    expect(held, 'B was paused holding no shard').toBeDefined();
    a.kill('SIGCONT');
    const t0 = Date.now();
    const done = await waitForRelease(t, id, 60_000);
    const took = Date.now() - t0;
    expect(done).toMatchObject({ state: 'completed', failure_reason: null });
    expect(took).toBeLessThan((LEASE + 20) * 1000);
    const { rows } = await t.sql.query(
      `SELECT worker FROM release_shards WHERE release_id = $1 AND shard = $2`,
      [id, held],
    );
    expect(rows[0].worker).toBe(`${hostname()}:${a.pid}`);
    // B resumes: its writes for the shard it lost are refused; the published files are untouched.
    b.kill('SIGCONT');
    await new Promise((r) => setTimeout(r, 3_000));
    const { manifest } = readVerifiedRelease(path.join(t.config.dataDir, id));
    expect(manifest.files.find((f) => f.name === 'gp.csv.gz')!.rows).toBe(200_000);
    const after = await t.sql.query(
      `SELECT worker FROM release_shards WHERE release_id = $1 AND shard = $2`,
      [id, held],
    );
    expect(after.rows[0].worker).toBe(`${hostname()}:${a.pid}`);
    expect(b.exitCode).toBeNull();
  }, 150_000);
});
