import 'reflect-metadata';
import { ConfigError, loadConfig } from '@custodian/core';
import { onShutdownSignals, prepareDatabase } from '@custodian/database';
import { createApiApp } from './bootstrap';
import { seedDemo } from './demo';
import { WorkerSupervisor } from './worker-supervisor';

async function main(): Promise<void> {
  const config = loadConfig();
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
  const app = (holder.app = await createApiApp({ ...config, runWorker: false }, db.url));
  const seeded = await seedDemo(app, config);
  await app.listen({ port: config.port, host: config.mode === 'production' ? '0.0.0.0' : '127.0.0.1' });
  const url = `http://localhost:${config.port}`;
  say(
    `Custodian is running on ${url} (API ${url}/api, docs ${url}/api/docs)${db.embedded ? ', embedded PostgreSQL' : ''}`,
  );
  if (seeded) say(seeded);
  worker?.start();
}

main().catch((err) => {
  if (err instanceof ConfigError) console.error(err.message);
  else console.error(`Custodian failed to start: ${err instanceof Error ? (err.stack ?? err.message) : err}`);
  process.exit(1);
});
