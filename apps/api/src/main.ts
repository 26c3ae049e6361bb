import 'reflect-metadata';
import { ensureDataDir, loadConfig, startFailure } from '@custodian/core';
import { onShutdownSignals, prepareDatabase } from '@custodian/database';
import { createApiApp } from './bootstrap';
import { seedDemo } from './demo';
import { WorkerSupervisor } from './worker-supervisor';

async function main(): Promise<void> {
  const config = loadConfig();
  await ensureDataDir(config.dataDir);
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const db = await prepareDatabase(config, say);
  // Jobs run in a worker process of their own (RUN_WORKER, on by default), never in this one.
  const worker = config.runWorker
    ? new WorkerSupervisor({ ...process.env, DATABASE_URL: db.url }, say)
    : undefined;
  const holder: { app?: Awaited<ReturnType<typeof createApiApp>> } = {};
  onShutdownSignals(async () => {
    say('shutting down…');
    await worker?.stop();
    await holder.app?.close();
    await db.stop();
  });
  let seeded: string | undefined;
  try {
    const app = (holder.app = await createApiApp({ ...config, runWorker: false }, db.url));
    seeded = await seedDemo(app, config);
    await app.listen({ port: config.port, host: config.mode === 'production' ? '0.0.0.0' : '127.0.0.1' });
  } catch (err) {
    // A start that fails once the database runs (a weak ADMIN_PASSWORD, a port taken) stops it: the
    // embedded PostgreSQL outlived the process, one more at each retry (an attack on the day's change).
    await holder.app?.close().catch(() => undefined);
    await db.stop().catch(() => undefined);
    throw err;
  }
  const url = `http://localhost:${config.port}`;
  // What a newcomer needs first: where to sign in, and with what. Nothing before it but the
  // database's own start-up lines (Nest's per-module and per-route lines are not printed in demo
  // mode, and the logs after it are readable lines; production logs stay JSON).
  const rule = '─'.repeat(72);
  say(
    [
      '',
      rule,
      `Custodian is running. Sign in to the portal at ${url}/sign-in`,
      ...(seeded ? ['', seeded] : []),
      '',
      `API ${url}/api (documentation ${url}/api/docs)${db.embedded ? '; embedded PostgreSQL' : ''}`,
      rule,
      '',
    ].join('\n'),
  );
  worker?.start();
}

main().catch((err) => {
  console.error(startFailure(err, 'Custodian', Number(process.env.PORT ?? 3000)));
  process.exit(1);
});
