import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { ensureDataDir, loadConfig, startFailure } from '@custodian/core';
import { onShutdownSignals, prepareDatabase } from '@custodian/database';
import { WorkerModule } from './worker.module';

async function main(): Promise<void> {
  // Started by the API (`npm start`): stop when it is gone, however it went — its IPC channel closes.
  // Listening from the first tick, so that an API killed while this worker boots is noticed too
  // (before the shutdown handler below exists, SIGTERM simply ends the process: nothing is open).
  if (process.send) process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  const config = loadConfig();
  await ensureDataDir(config.dataDir);
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const db = await prepareDatabase(config, say);
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config, db.url), {
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  onShutdownSignals(async () => {
    await app.close();
    await db.stop();
  });
  await app.init();
  say(`Custodian worker ${process.pid} is consuming jobs`);
}

main().catch((err) => {
  console.error(startFailure(err, 'The worker'));
  process.exit(1);
});
