import { ChildProcess, spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '@custodian/database';
import type { TestApp } from '@custodian/testing';

/** The built worker (`npm test` builds first). */
export const WORKER = path.resolve('dist/apps/worker/src/main.js');
export const API = path.resolve('dist/apps/api/src/main.js');

/**
 * Starts a real worker process (`npm run worker`'s entry point) on the test app's database, data
 * directory and secrets, and resolves once it consumes jobs. `CRASH_LOG=<file>` keeps its output.
 */
export function startWorker(t: TestApp, env: Record<string, string> = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, [WORKER], {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      DATABASE_URL: t.db.url,
      DATA_DIR: t.config.dataDir,
      CUSTODIAN_STATE_DIR: t.config.stateDir,
      JWT_SECRET: t.config.jwtSecret,
      PSEUDONYM_KEY_SECRET: t.config.pseudonymKeySecret,
      LOG_LEVEL: process.env.CRASH_LOG ? 'info' : 'silent',
      WORKER_CONCURRENCY: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`worker did not start: ${out}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('is consuming jobs')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    if (process.env.CRASH_LOG) {
      child.stdout!.on('data', (d: Buffer) => appendFileSync(process.env.CRASH_LOG!, d));
      child.stderr!.on('data', (d: Buffer) => appendFileSync(process.env.CRASH_LOG!, d));
    }
    child.on('exit', (code) => reject(new Error(`worker exited ${code}: ${out}`)));
  });
}

/**
 * Starts a real API process (`npm start`'s entry point; without its worker process unless `env` asks) on the test
 * app's database and secrets; resolves with its base URL once it answers /api/health.
 */
export async function startApi(
  t: TestApp,
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeArgs, API], {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      PORT: String(port),
      DATABASE_URL: t.db.url,
      DATA_DIR: t.config.dataDir,
      CUSTODIAN_STATE_DIR: t.config.stateDir,
      JWT_SECRET: t.config.jwtSecret,
      PSEUDONYM_KEY_SECRET: t.config.pseudonymKeySecret,
      LOG_LEVEL: 'silent',
      RUN_WORKER: 'false',
      DEMO_SEED: 'false',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const t0 = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`api exited ${child.exitCode}: ${out}`);
    if (
      await fetch(`${url}/api/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return { child, url };
    if (Date.now() - t0 > 30_000) {
      child.kill('SIGKILL');
      throw new Error(`api did not start: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** SIGKILL, and wait until the process is gone. */
export async function killWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}
