import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { EmbeddedDatabase, startEmbeddedPostgres } from '@custodian/database';
import { startOwnDatabaseApi } from './support/own-database';
import { IdentityService } from '@custodian/identity';

/**
 * The database goes away under a running API: requests get 503 with a code (no stack trace), the
 * API recovers by itself when the server is back, and every write acknowledged before is still there.
 * Runs its own PostgreSQL so the shared test server is not disturbed.
 */
describe('database restart under a running API', () => {
  let dataDir: string;
  let db: EmbeddedDatabase;
  let app: NestFastifyApplication;
  let port: number;

  beforeAll(async () => {
    ({ dataDir, port, db, app } = await startOwnDatabaseApi('restart'));
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
