import path from 'node:path';
import { AppConfig, readOrCreateSecret } from '@custodian/core';
import { startEmbeddedPostgres } from './embedded';
import { runMigrations } from './migrate';

export interface DatabaseRuntime {
  url: string;
  embedded: boolean;
  stop(): Promise<void>;
}

/**
 * DATABASE_URL when set; otherwise the embedded PostgreSQL under the state directory. Migrations
 * are applied either way before anything else touches the database.
 */
export async function prepareDatabase(
  config: AppConfig,
  log: (line: string) => void,
  opts: { migrate?: boolean } = {},
): Promise<DatabaseRuntime> {
  let runtime: DatabaseRuntime;
  if (config.databaseUrl) {
    runtime = { url: config.databaseUrl, embedded: false, stop: async () => undefined };
  } else {
    const db = await startEmbeddedPostgres({
      dataDir: path.join(config.stateDir, 'pg'),
      password: readOrCreateSecret(config.stateDir, 'EMBEDDED_PG_PASSWORD'),
      log: (l) => (/ERROR|FATAL|PANIC|stopping|initialising|stale/.test(l) ? log(l) : undefined),
    });
    runtime = { url: db.url, embedded: true, stop: db.stop };
  }
  if (opts.migrate !== false) {
    try {
      const applied = await runMigrations(runtime.url);
      if (applied.length) log(`applied ${applied.length} migration(s): ${applied.join(', ')}`);
    } catch (e) {
      await runtime.stop();
      throw e;
    }
  }
  return runtime;
}

/** Stops the embedded server when the process is told to stop, after the app has closed. */
export function onShutdownSignals(close: () => Promise<void>): void {
  let closing = false;
  const handler = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    // Ctrl-C in a terminal reaches the embedded PostgreSQL too (one process group), which then
    // stops at once: a query still in flight in a library (pg-boss marking a job failed) rejects
    // with nobody to catch it. While stopping, that is one line, not a crash with a stack trace.
    // Its name and code only: a database error's message can quote the data it refused.
    process.on('unhandledRejection', (e) => {
      const code = (e as { code?: unknown } | null)?.code;
      console.error(
        `while stopping: ${e instanceof Error ? e.name : typeof e}${code ? ` ${String(code)}` : ''}`,
      );
    });
    close()
      .catch((e) => console.error(`shutdown after ${signal} failed: ${e instanceof Error ? e.message : e}`))
      .finally(() => process.exit(0));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
