import { ChildProcess, spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { freePort, runMigrations, startEmbeddedPostgres } from '@custodian/database';

export type Scale = 'small' | 'large';

export function argValue(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

export const scale = (): Scale => (argValue('scale', 'small') === 'large' ? 'large' : 'small');

/** Prints the one line every benchmark reports, and returns it. */
export function report(name: string, ratio: number, figures: Record<string, string | number>): string {
  const parts = Object.entries(figures).map(([k, v]) => `${k}=${typeof v === 'number' ? round(v) : v}`);
  const line = `BENCH ${name} ratio=${round(ratio)} ${parts.join(' ')}`;
  console.log(line);
  return line;
}

export const round = (n: number) => (Math.abs(n) >= 100 ? Math.round(n) : Math.round(n * 1000) / 1000);

/** Peak resident set size of a process in MB (VmHWM), read from /proc. */
export function peakRssMb(pid: number = process.pid): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Clock ticks per second of /proc's CPU times (USER_HZ; 100 on Linux). */
const TICKS = 100;

/**
 * CPU-seconds the whole machine has spent busy (every process: PostgreSQL's backends, the workers,
 * this process), from /proc/stat: what a benchmark's phase cost the two cores, beside its wall time.
 */
export function machineBusySeconds(): number {
  try {
    const [, ...f] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
    // user nice system idle iowait irq softirq steal …: busy = all but idle, iowait and steal.
    const [user, nice, system, , , irq, softirq] = f.map(Number);
    return (user + nice + system + irq + softirq) / TICKS;
  } catch {
    return NaN;
  }
}

/** CPU-seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
export function processCpuSeconds(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / TICKS;
  } catch {
    return NaN;
  }
}

/** The share of the machine's cores that `cpu` busy CPU-seconds kept busy over `seconds`. */
export const busyShare = (cpu: number, seconds: number) => cpu / (seconds * cpus().length);

export async function timed<T>(fn: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const t0 = process.hrtime.bigint();
  const value = await fn();
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, value };
}

/**
 * The embedded server every benchmark shares (.data/bench-pg), connected to `database`. One place
 * for its settings: the password is fixed when the cluster is first created, so a benchmark that
 * started it with another would lock the others out.
 */
export function benchServer(database = 'postgres'): Promise<{ url: string; stop: () => Promise<void> }> {
  return startEmbeddedPostgres({
    dataDir: path.resolve('.data/bench-pg'),
    password: 'custodian-bench',
    database,
  });
}

/** DATABASE_URL (owner) when set, else an embedded server under .data/bench-pg; migrated. */
export async function benchDatabase(): Promise<{ url: string; stop: () => Promise<void> }> {
  if (process.env.DATABASE_URL) {
    await runMigrations(process.env.DATABASE_URL);
    return { url: process.env.DATABASE_URL, stop: async () => undefined };
  }
  const db = await benchServer('custodian_bench');
  await runMigrations(db.url);
  return db;
}

export async function sql<T = Record<string, unknown>>(
  url: string,
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text, params)).rows as T[];
  } finally {
    await c.end();
  }
}

export const BENCH_ENV = {
  NODE_ENV: 'production',
  JWT_SECRET: 'bench-jwt-secret-0123456789-0123456789-abcdef',
  PSEUDONYM_KEY_SECRET: 'bench-pseudonym-secret-0123456789-0123456789',
  LOG_LEVEL: 'warn',
  DEMO_SEED: 'false',
};

/**
 * Exactly how `npm start` and `npm run worker` run Node (package.json): source maps, the heap caps,
 * and glibc malloc told to keep two arenas (not one per thread-pool thread) and to give blocks of
 * 1 MiB and more straight back to the system (argon2's 19 MiB password hashes otherwise stay in
 * the process: docs/BENCHMARKS.md). BENCH_NODE_ARGS adds flags (e.g. --cpu-prof).
 */
export const NODE_RUN_ARGS = ['--enable-source-maps', '--max-old-space-size=192', '--max-semi-space-size=4'];
/** `npm start`'s flags for the API: a smaller young generation (2 MB semi-spaces) than a worker's. */
export const API_RUN_ARGS = ['--enable-source-maps', '--max-old-space-size=192', '--max-semi-space-size=2'];
export const NODE_RUN_ENV = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '1048576' };

/** Starts a built app process (`dist/apps/<app>/src/main.js`) against the bench database. */
export async function startProcess(
  app: 'api' | 'worker',
  url: string,
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; port: number; stop: () => Promise<void>; output: () => string }> {
  const port = await freePort();
  let output = '';
  const nodeArgs = [
    ...(app === 'api' ? API_RUN_ARGS : NODE_RUN_ARGS),
    ...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
  ];

  const child = spawn('node', [...nodeArgs, `dist/apps/${app}/src/main.js`], {
    env: {
      ...process.env,
      ...BENCH_ENV,
      ...NODE_RUN_ENV,
      DATABASE_URL: url,
      PORT: String(port),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  // A process that dies under a benchmark says why at once (its output is otherwise only kept).
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM' && signal !== 'SIGINT')
      console.error(`${app} ${child.pid} exited (${signal ?? code}):\n${output.slice(-3000)}`);
  });
  if (app === 'worker') {
    const t0 = Date.now();
    while (!output.includes('is consuming jobs')) {
      if (Date.now() - t0 > 60_000 || child.exitCode !== null)
        throw new Error(`worker did not start: ${output.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  if (app === 'api') {
    const t0 = Date.now();
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${port}/api/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (Date.now() - t0 > 60_000 || child.exitCode !== null)
        throw new Error(`api did not start: ${output.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    child,
    port,
    output: () => output,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** A fresh, migrated database beside `baseUrl` (the owner's), dropped by `drop()`. */
export async function freshDatabase(
  baseUrl: string,
  prefix: string,
): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${Date.now()}`;
  const admin = new Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = Object.assign(new URL(baseUrl), { pathname: `/${name}` }).toString();
  await runMigrations(url);
  return {
    url,
    drop: async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

/** A JSON client for the API under `base` (…/api) that throws on any non-2xx answer. */
export function apiClient(base: string) {
  return async (
    method: string,
    path: string,
    token?: string,
    body?: unknown,
  ): Promise<Record<string, string>> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = (await res.json().catch(() => ({}))) as Record<string, string>;
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
}
