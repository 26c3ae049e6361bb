import { chmodSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import PgBoss from 'pg-boss';
import type { TestProject } from 'vitest/node';
import { runMigrations, startEmbeddedPostgres } from '@custodian/database';

export const TEMPLATE_DB = 'custodian_template';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A superuser URL on the test server's `postgres` database (the template is beside it). */
    pgAdminUrl: string;
  }
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/**
 * One PostgreSQL server per test run (the embedded one unless DATABASE_URL is set), with the
 * migrations applied once into a template database; each test file gets its own copy.
 */
export default async function setup(project: TestProject) {
  const scratch = runScratchDir();
  try {
    return await start(project, scratch);
  } catch (err) {
    rmSync(scratch, { recursive: true, force: true });
    throw err;
  }
}

/** Whether a process of this id runs (a run's scratch folder outlives only a killed run). */
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * One scratch folder per test run, as the test processes' TMPDIR (`os.tmpdir()` there and in every
 * process they start: API, workers, PostgreSQL, Chromium), removed when the run ends. Before it, a
 * full run left ~500 MB of state folders, database clusters and release files in /tmp (17 GB after
 * two days here). Folders of runs that were killed are removed by the next run.
 */
function runScratchDir(): string {
  const root = path.join(tmpdir(), 'custodian-test-runs');
  mkdirSync(root, { recursive: true });
  // As /tmp: processes of other users write here too (initdb runs as `postgres` when the tests run
  // as root, and reads its password file from here: with 0700 it could not).
  chmodSync(root, 0o1777);
  for (const name of readdirSync(root))
    if (/^\d+$/.test(name) && !alive(Number(name)))
      rmSync(path.join(root, name), { recursive: true, force: true });
  const dir = path.join(root, String(process.pid));
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o1777);
  process.env.TMPDIR = dir;
  return dir;
}

async function start(project: TestProject, scratch: string) {
  const started = process.env.DATABASE_URL
    ? { url: process.env.DATABASE_URL, stop: async () => undefined }
    : await startEmbeddedPostgres({
        dataDir: path.resolve('.data/test-pg'),
        password: 'custodian-test',
        database: 'postgres',
        // A test server need not survive a crash of the machine (PostgreSQL's "Non-Durable
        // Settings"): no fsync, no wait for the WAL at commit. Each file's DROP DATABASE forces a
        // checkpoint that otherwise flushed every file's dirty pages to disk (0.7-1.4 s a drop).
        // Tests that stop or kill a server run one of their own (test/support/own-database.ts).
        settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
      });
  const adminUrl = withDatabase(started.url, 'postgres');
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const stale = await admin.query(
      `SELECT datname FROM pg_database WHERE datname = $1 OR datname LIKE 'test\\_%'`,
      [TEMPLATE_DB],
    );
    for (const { datname } of stale.rows) {
      await admin.query(`ALTER DATABASE "${datname}" IS_TEMPLATE false`).catch(() => undefined);
      await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
    await admin.query(`CREATE DATABASE ${TEMPLATE_DB}`);
  } finally {
    await admin.end();
  }
  const templateUrl = withDatabase(started.url, TEMPLATE_DB);
  await runMigrations(templateUrl);
  // Install pg-boss's own schema once, so each test database starts with it.
  const fix = new Client({ connectionString: adminUrl });
  await fix.connect();
  const tpl = new Client({ connectionString: templateUrl });
  await tpl.connect();
  await tpl.query(PgBoss.getConstructionPlans('pgboss'));
  await tpl.end();
  await fix.query(
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
    [TEMPLATE_DB],
  );
  await fix.query(`ALTER DATABASE ${TEMPLATE_DB} IS_TEMPLATE true`);
  await fix.end();
  project.provide('pgAdminUrl', adminUrl);
  return async () => {
    await started.stop();
    rmSync(scratch, { recursive: true, force: true });
  };
}
