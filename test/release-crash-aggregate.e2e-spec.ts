import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createTestApp, TestApp } from '@custodian/testing';
import { ReleaseService } from '@custodian/release';
import { killWorker, startWorker, WORKER } from './support/worker-process';
import {
  ensureActiveBid,
  prng,
  readVerifiedRelease,
  seedGpPopulation,
  seedPractice,
  spec,
  waitForRelease,
} from './release-helpers';

const KILLS = 8;

/**
 * Crash safety of an aggregate release: its attempt records the table's cells and a ledger line for
 * the differencing guard (#27) before the file is made visible, and a retry must forget a killed
 * attempt's. The worker is killed (SIGKILL) at random moments of one aggregate release, restarted
 * each time; in the end exactly one completed release, its file matching the manifest, one ledger
 * line and one cell row per cell of the file, one register line, and a verifying audit chain.
 * Needs the built worker (`npm test`).
 */
describe('aggregate release crash safety: SIGKILLs of the worker during one release', () => {
  let t: TestApp;
  let worker: ChildProcess | undefined;

  beforeAll(async () => {
    t = await createTestApp({ RUN_WORKER: 'false' });
  });
  afterAll(async () => {
    worker?.kill('SIGKILL');
    await t?.close();
  });

  it('ends with one completed release, its cells and ledger line once, one register line', async () => {
    expect(existsSync(WORKER)).toBe(true);
    const random = prng(Number(process.env.CRASH_SEED ?? 20261206));
    await seedPractice(t.sql);
    await seedGpPopulation(t.sql, 3000, 20);
    const officer = await t.as('release_officer');
    const researcher = await t.as('researcher');
    const auditor = await t.as('auditor');
    const releases = t.app.get(ReleaseService);
    const s = spec({
      tier: 'aggregate',
      legalBasis: 'none',
      datasets: [{ dataset: 'gp', fields: ['code', 'event_date'] }],
      aggregation: { dimensions: ['sex', 'year'] },
      recipients: [researcher.user.id],
      requestedBy: officer.user.id,
    });
    await ensureActiveBid(t, s);
    const { id } = await releases.request(s, officer.user as never);
    const now = async () =>
      (await t.sql.query(`SELECT state, attempts FROM releases WHERE id = $1`, [id])).rows[0] as {
        state: string;
        attempts: number;
      };
    const statesAtKill: string[] = [];
    for (let k = 0; k < KILLS; k++) {
      const before = await now();
      worker = await startWorker(t);
      // Once this worker has claimed the release (attempts goes up), a random moment of its build.
      const until = Date.now() + 20_000;
      let seen = before;
      while (Date.now() < until && seen.attempts === before.attempts && seen.state !== 'completed') {
        await new Promise((r) => setTimeout(r, 5));
        seen = await now();
      }
      await new Promise((r) => setTimeout(r, Math.floor(random() * 120)));
      statesAtKill.push((await now()).state);
      await killWorker(worker);
      worker = undefined;
      const mid = await releases.get(id, { ...researcher.user, sessionId: '' } as never);
      if (mid.state !== 'completed') expect(mid.files).toEqual([]);
    }
    expect(statesAtKill.filter((x) => x === 'running').length, statesAtKill.join()).toBeGreaterThanOrEqual(
      KILLS / 2,
    );

    worker = await startWorker(t);
    const done = await waitForRelease(t, id, 60_000);
    const { rows: why } = await t.sql.query(`SELECT failure_reason FROM releases WHERE id = $1`, [id]);
    expect(done.state, JSON.stringify(why[0])).toBe('completed');
    const count = async (sql: string) => (await t.sql.query(sql, [id])).rows[0].n as number;
    expect(await count(`SELECT count(*)::int AS n FROM releases WHERE state = 'completed' AND id = $1`)).toBe(
      1,
    );
    expect(
      await count(
        `SELECT count(*)::int AS n FROM register_entries WHERE kind = 'release' AND release_id = $1`,
      ),
    ).toBe(1);
    expect(
      await count(
        `SELECT count(*)::int AS n FROM audit_log WHERE action = 'release.completed' AND subject_id = $1`,
      ),
    ).toBe(1);
    // The guard's ledger: one line, and one cell row per cell of the file (none of a killed attempt).
    expect(await count(`SELECT count(*)::int AS n FROM release_ledger WHERE release_id = $1`)).toBe(1);
    const { names, manifest } = readVerifiedRelease(path.join(t.config.dataDir, id));
    expect(names.filter((n) => n.endsWith('.partial') || n.startsWith('.'))).toEqual([]);
    const table = manifest.files.find((f) => f.name === 'aggregate.csv.gz')!;
    expect(table.rows).toBeGreaterThan(0);
    expect(await count(`SELECT count(*)::int AS n FROM release_aggregate_cells WHERE release_id = $1`)).toBe(
      table.rows,
    );
    expect(
      await count(
        `SELECT count(*)::int AS n FROM (SELECT i FROM release_aggregate_cells WHERE release_id = $1 GROUP BY i HAVING count(*) > 1) d`,
      ),
    ).toBe(0);
    const verify = await t.http.get('/api/audit/verify').set(auditor.auth).expect(200);
    expect(verify.body).toMatchObject({ ok: true });
    const exited = new Promise((r) => worker!.once('exit', r));
    worker.kill('SIGTERM');
    await exited;
    worker = undefined;
  }, 300_000);
});
