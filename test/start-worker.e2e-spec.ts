import { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { createTestApp, TestApp } from '@custodian/testing';
import { ndjson, nhsNumber, patient } from './support/fhir';
import { practiceReady, upload } from './support/practice';
import { killWorker, startApi } from './support/worker-process';

/**
 * `npm start` runs the job worker as a child process of the API (RUN_WORKER, on by default): its
 * own memory and its own crash. Here the built API runs as `npm start` runs it; the in-process test
 * app consumes no jobs, so a job done is a job the child did.
 */
const childrenOf = (pid: number) =>
  readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
const alive = (pid: number) =>
  existsSync(`/proc/${pid}`) && !/State:\s+Z/.test(readFileSync(`/proc/${pid}/status`, 'utf8'));

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  ms = 30_000,
): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the API starts its job worker as a process of its own', () => {
  let t: TestApp;
  let api: { child: ChildProcess; url: string };
  beforeAll(async () => {
    t = await createTestApp({ RUN_WORKER: 'false' });
    api = await startApi(t, { RUN_WORKER: 'true' });
  });
  afterAll(async () => {
    if (api) await killWorker(api.child);
    await t?.close();
  });

  const isWorker = (p: number) => alive(p) && cmdline(p).some((a) => a.endsWith('apps/worker/src/main.js'));
  const workerPid = (not?: number) =>
    until('a worker child', () => childrenOf(api.child.pid!).find((p) => p !== not && isWorker(p)));

  it('runs jobs in the child, starts another when it dies, and stops it on shutdown', async () => {
    const first = await workerPid();
    expect(cmdline(first)[0]).toBe(process.execPath);

    // A job queued by an upload (re-linking after an extract) is done by the child.
    const admin = (await t.as('admin')).auth;
    const practice = await practiceReady(t, admin, 'A81001');
    await upload(t, practice, 'A81001', ndjson([patient('p1', nhsNumber(1))])).expect(201);
    await until('the relink job to complete', async () => {
      const { rows } = await t.sql.query(`SELECT state FROM pgboss.job WHERE name = 'linkage.relink'`);
      return rows[0]?.state === 'completed' || undefined;
    });

    // A worker that dies is replaced.
    process.kill(first, 'SIGKILL');
    const second = await workerPid(first);
    expect(second).not.toBe(first);

    // Stopping the API stops its worker first: gone by the time the API has exited (not merely
    // later, when its IPC channel closes).
    const exited = once(api.child, 'exit');
    api.child.kill('SIGTERM');
    await exited;
    expect(alive(second)).toBe(false);
  });

  it('leaves no worker behind when the API is killed outright', async () => {
    const again = await startApi(t, { RUN_WORKER: 'true' });
    try {
      const pid = await until('a worker child', () =>
        childrenOf(again.child.pid!).find(
          (p) => alive(p) && cmdline(p).some((a) => a.endsWith('apps/worker/src/main.js')),
        ),
      );
      again.child.kill('SIGKILL');
      await until('the orphaned worker to stop', () => !alive(pid) || undefined, 20_000);
    } finally {
      await killWorker(again.child);
    }
  });
});
