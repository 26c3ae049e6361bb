import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApiApp } from '../../apps/api/src/bootstrap';
import { loadConfig } from '@custodian/core';
import { EmbeddedDatabase, runMigrations, startEmbeddedPostgres } from '@custodian/database';

export interface OwnDatabaseApi {
  dataDir: string;
  port: number;
  password: string;
  db: EmbeddedDatabase;
  app: NestFastifyApplication;
}

/**
 * The API, without a worker, on a migrated PostgreSQL of its own: for a test that stops or kills
 * the server, so the shared test server is not disturbed. Start it again with
 * `startEmbeddedPostgres({ dataDir, password, port })`.
 */
export async function startOwnDatabaseApi(name: string): Promise<OwnDatabaseApi> {
  const dataDir = path.join(mkdtempSync(path.join(tmpdir(), `custodian-${name}-`)), 'pg');
  const password = `${name}-test`;
  // The server chooses its port after initdb (see startEmbeddedPostgres); restarts use the same one.
  const db = await startEmbeddedPostgres({ dataDir, password });
  const port = Number(new URL(db.url).port);
  await runMigrations(db.url);
  const config = loadConfig({
    NODE_ENV: 'test',
    CUSTODIAN_STATE_DIR: path.dirname(dataDir),
    JWT_SECRET: 'x'.repeat(40),
    PSEUDONYM_KEY_SECRET: 'y'.repeat(40),
    LOG_LEVEL: 'silent',
    // Nothing consumes the queues: jobs stay where the test can see them.
    RUN_WORKER: 'false',
  });
  return { dataDir, port, password, db, app: await createApiApp(config, db.url) };
}
