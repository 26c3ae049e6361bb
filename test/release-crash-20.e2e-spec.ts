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

const KILLS = 20;

/**
 * Issue 8, crash safety: the single-kill test (test/release-crash.e2e-spec.ts) extended to twenty.
 * The API runs with RUN_WORKER=false; a spawned worker process builds one release and is killed
 * with SIGKILL at a random moment, twenty times, restarted each time. In the end: exactly one
 * completed release, its files match the manifest, no partial file is left or visible, one line on
 * the public register, and the audit chain still verifies. Needs the built worker (`npm test`).
 */
describe('release crash safety: twenty SIGKILLs of the worker during one release', () => {
  let t: TestApp;
  let worker: ChildProcess | undefined;

  beforeAll(async () => {
    t = await createTestApp({ RUN_WORKER: 'false' });
  });
  afterAll(async () => {
    worker?.kill('SIGKILL');
    await t?.close();
  });

  const startWorkerProcess = () => startWorker(t, { RELEASE_SHARD_ROWS: '40000', RELEASE_MAX_SHARDS: '8' });

  it('ends with one completed release matching its manifest, one register line, a verifying audit chain', async () => {
    expect(existsSync(WORKER)).toBe(true);
    const seed = Number(process.env.CRASH_SEED ?? 20261125);
    const random = prng(seed);
    await seedPractice(t.sql);
    await seedGpPopulation(t.sql, 3000, 20);
    const officer = await t.as('release_officer');
    const researcher = await t.as('researcher');
    const auditor = await t.as('auditor');
    const releases = t.app.get(ReleaseService);
    const s = spec({
      tier: 'pseudonymised',
      datasets: [
        { dataset: 'gp', fields: ['nhs_number', 'date_of_birth', 'postcode', 'sex', 'code', 'event_date'] },
      ],
      recipients: [researcher.user.id],
      requestedBy: officer.user.id,
    });
    // The bid behind the spec must exist and be active (downloads check it; the register line refers to it).
    await ensureActiveBid(t, s);
    const { id } = await releases.request(s, officer.user as never);
    const dir = path.join(t.config.dataDir, id);
    const statesAtKill: string[] = [];
    const attempts = async () =>
      (await t.sql.query(`SELECT state, attempts FROM releases WHERE id = $1`, [id])).rows[0] as {
        state: string;
        attempts: number;
      };
    for (let k = 0; k < KILLS; k++) {
      const before = await attempts();
      worker = await startWorkerProcess();
      // Wait until this worker has claimed the release (attempts goes up), then kill it at a random
      // moment of the build; now and then (one kill in five) before it even claims it.
      if (random() >= 0.2) {
        const until = Date.now() + 20_000;
        let now = before;
        while (Date.now() < until && now.attempts === before.attempts && now.state !== 'completed') {
          await new Promise((r) => setTimeout(r, 10));
          now = await attempts();
        }
      }
      await new Promise((r) => setTimeout(r, Math.floor(random() * 150)));
      statesAtKill.push((await attempts()).state);
      await killWorker(worker);
      worker = undefined;
      // Between kills: nothing partial is visible to the recipient.
      const now = await releases.get(id, { ...researcher.user, sessionId: '' } as never);
      if (now.state !== 'completed') {
        expect(now.files).toEqual([]);
        await t.http.get(`/api/releases/${id}/files/gp.csv.gz`).set(researcher.auth).expect(409);
      }
    }
    // Most kills must have hit the build itself, or the test proves little.
    expect(statesAtKill.filter((s) => s === 'running').length, statesAtKill.join()).toBeGreaterThanOrEqual(
      KILLS / 2,
    );

    worker = await startWorkerProcess();
    const done = await waitForRelease(t, id, 60_000);
    const { rows: why } = await t.sql.query(`SELECT failure_reason, attempts FROM releases WHERE id = $1`, [
      id,
    ]);
    expect(done.state, JSON.stringify(why[0])).toBe('completed');
    const { rows: completed } = await t.sql.query(
      `SELECT count(*)::int AS n FROM releases WHERE state = 'completed'`,
    );
    expect(completed[0].n).toBe(1);
    const { rows: register } = await t.sql.query(
      `SELECT count(*)::int AS n FROM register_entries WHERE kind = 'release' AND release_id = $1`,
      [id],
    );
    expect(register[0].n).toBe(1);
    const { rows: audits } = await t.sql.query(
      `SELECT count(*)::int AS n FROM audit_log WHERE action = 'release.completed' AND subject_id = $1`,
      [id],
    );
    expect(audits[0].n).toBe(1);

    const { names, manifest } = readVerifiedRelease(dir);
    expect(names.filter((n) => n.endsWith('.partial') || n.startsWith('.'))).toEqual([]);
    expect(names).toEqual(['manifest.json', ...manifest.files.map((f) => f.name)].sort());
    expect(manifest.files.find((f) => f.name === 'gp.csv.gz')!.rows).toBe(60_000);
    const verify = await t.http.get('/api/audit/verify').set(auditor.auth).expect(200);
    expect(verify.body).toMatchObject({ ok: true });
    // Give the worker time to settle (a re-queued duplicate job finds the release completed).
    await new Promise((r) => setTimeout(r, 500));
    const { rows: again } = await t.sql.query(
      `SELECT count(*)::int AS n FROM audit_log WHERE action = 'release.completed' AND subject_id = $1`,
      [id],
    );
    expect(again[0].n).toBe(1);
    const exited = new Promise((r) => worker!.once('exit', r));
    worker.kill('SIGTERM');
    await exited;
    worker = undefined;
  }, 420_000);
});
