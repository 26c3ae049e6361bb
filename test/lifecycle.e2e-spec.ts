import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '@custodian/database';

/** Postgres processes whose data directory is under `dir`. */
function postgresUnder(dir: string): number[] {
  const out = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).stdout;
  return out
    .split('\n')
    .filter((l) => l.includes('postgres') && l.includes(dir))
    .map((l) => Number(l.trim().split(/\s+/)[0]));
}

function start(stateDir: string, port: number): { child: ChildProcess; output: () => string } {
  let output = '';
  const child = spawn('node', ['dist/apps/api/src/main.js'], {
    env: {
      ...process.env,
      DATABASE_URL: '',
      NODE_ENV: '',
      CUSTODIAN_STATE_DIR: stateDir,
      PORT: String(port),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  return { child, output: () => output };
}

async function healthy(port: number, ms: number): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    const ok = await fetch(`http://127.0.0.1:${port}/api/health`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return Date.now() - t0;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`not healthy within ${ms} ms`);
}

const exited = (c: ChildProcess) =>
  new Promise<number | null>((r) =>
    c.exitCode !== null ? r(c.exitCode) : c.once('exit', (code) => r(code)),
  );

describe('running the service (npm start) on the embedded PostgreSQL', () => {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'custodian-life-'));

  it('starts on an empty machine, prints demo logins, and leaves no PostgreSQL behind on Ctrl-C', async () => {
    const port = await freePort();
    const run = start(stateDir, port);
    const ms = await healthy(port, 60_000);
    expect(ms).toBeLessThan(60_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(run.output()).toMatch(/admin@custodian\.example\s+\S+\s+admin/);
    const creds = JSON.parse(readFileSync(path.join(stateDir, 'demo-credentials.json'), 'utf8'));
    const login = await fetch(`http://127.0.0.1:${port}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: creds[0].email, password: creds[0].password }),
    });
    expect(login.status).toBe(200);
    expect(postgresUnder(stateDir).length).toBeGreaterThan(0);
    run.child.kill('SIGINT');
    expect(await exited(run.child)).toBe(0);
    expect(postgresUnder(stateDir)).toEqual([]);
  }, 90_000);

  it('starts cleanly after the previous process was killed with SIGKILL', async () => {
    const port = await freePort();
    const first = start(stateDir, port);
    await healthy(port, 60_000);
    expect(postgresUnder(stateDir).length).toBeGreaterThan(0);
    first.child.kill('SIGKILL');
    await exited(first.child);
    // Its server does not run on (an outsider's probe, 2026-12-07: it did, until the next start):
    // the watcher asks it to stop within seconds of the service's death.
    for (let i = 0; i < 150 && postgresUnder(stateDir).length; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(postgresUnder(stateDir)).toEqual([]);
    const port2 = await freePort();
    const second = start(stateDir, port2);
    await healthy(port2, 60_000);
    second.child.kill('SIGTERM');
    expect(await exited(second.child)).toBe(0);
    expect(postgresUnder(stateDir)).toEqual([]);
  }, 120_000);

  it('stops with a message naming a bad configuration value', async () => {
    const res = spawnSync('node', ['dist/apps/api/src/main.js'], {
      env: { ...process.env, CUSTODIAN_STATE_DIR: stateDir, PANEL_QUORUM: 'many' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/Invalid configuration[\s\S]*PANEL_QUORUM/);
    expect(postgresUnder(stateDir)).toEqual([]);
  }, 30_000);

  it("stops its PostgreSQL when the start fails after the database runs: a weak ADMIN_PASSWORD (an attack on the day's change: one orphan a try)", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'custodian-weak-'));
    const res = spawnSync('node', ['dist/apps/api/src/main.js'], {
      env: {
        ...process.env,
        DATABASE_URL: '',
        NODE_ENV: '',
        CUSTODIAN_STATE_DIR: dir,
        DEMO_SEED: 'false',
        RUN_WORKER: 'false',
        ADMIN_EMAIL: 'first.admin@example.org',
        ADMIN_PASSWORD: 'password1234',
        PORT: String(await freePort()),
      },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/too easy to guess/);
    expect(postgresUnder(dir)).toEqual([]);
  }, 90_000);
});
