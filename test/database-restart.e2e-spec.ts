import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { createApiApp } from '../apps/api/src/bootstrap';
import { loadConfig } from '@custodian/core';
import { EmbeddedDatabase, freePort, runMigrations, startEmbeddedPostgres } from '@custodian/database';
import { IdentityService } from '@custodian/identity';

/**
 * The database goes away under a running API: requests get 503 with a code (no stack trace), the
 * API recovers by itself when the server is back, and every write acknowledged before is still there.
 * Runs its own PostgreSQL so the shared test server is not disturbed.
 */
describe('database restart under a running API', () => {
  const dataDir = path.join(mkdtempSync(path.join(tmpdir(), 'custodian-restart-')), 'pg');
  let db: EmbeddedDatabase;
  let app: NestFastifyApplication;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    db = await startEmbeddedPostgres({ dataDir, password: 'restart-test', port });
    await runMigrations(db.url);
    const config = loadConfig({
      NODE_ENV: 'test',
      CUSTODIAN_STATE_DIR: path.dirname(dataDir),
      JWT_SECRET: 'x'.repeat(40),
      PSEUDONYM_KEY_SECRET: 'y'.repeat(40),
      LOG_LEVEL: 'silent',
      RUN_WORKER: 'false',
    });
    app = await createApiApp(config, db.url);
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await db?.stop();
  });

  it('answers 503 DATABASE_UNAVAILABLE while the server is down and recovers without a restart', async () => {
    const identity = app.get(IdentityService);
    await identity.createUser(null, {
      email: 'admin@restart.example',
      password: 'restart-password-1',
      displayName: 'A',
      roles: ['admin'],
    });
    const http = () => request(app.getHttpServer());
    const login = await http()
      .post('/api/auth/login')
      .send({ email: 'admin@restart.example', password: 'restart-password-1' })
      .expect(200);
    const auth = { Authorization: `Bearer ${login.body.accessToken}` };
    const created: string[] = [];
    for (let i = 0; i < 5; i++)
      created.push(
        (
          await http()
            .post('/api/organisations')
            .set(auth)
            .send({ name: `Before ${i}`, kind: 'nhs' })
            .expect(201)
        ).body.id,
      );

    await db.stop();
    for (const call of [
      http().get('/api/health'),
      http().get('/api/organisations').set(auth),
      http().post('/api/organisations').set(auth).send({ name: 'During', kind: 'nhs' }),
    ]) {
      const res = await call;
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('DATABASE_UNAVAILABLE');
      expect(JSON.stringify(res.body)).not.toMatch(/ECONNREFUSED|at \w+ \(|\.js:\d+/);
    }

    db = await startEmbeddedPostgres({ dataDir, password: 'restart-test', port });
    let status = 0;
    for (let i = 0; i < 40 && status !== 200; i++) {
      status = (await http().get('/api/health')).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    expect(status).toBe(200);
    const list = await http().get('/api/organisations').set(auth).expect(200);
    expect(list.body.map((o: { id: string }) => o.id)).toEqual(expect.arrayContaining(created));
    expect(list.body.map((o: { name: string }) => o.name)).not.toContain('During');
  }, 120_000);
});
