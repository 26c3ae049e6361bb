import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Client } from 'pg';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { EmbeddedDatabase, startEmbeddedPostgres } from '@custodian/database';
import { startOwnDatabaseApi } from './support/own-database';
import { IdentityService } from '@custodian/identity';
import { condition, ndjson, nhsNumber, patient } from './support/fhir';
import { daysAgo } from './support/practice';

/**
 * Issue 29: a job announced by a committed change is enqueued in the change's own transaction. The
 * PostgreSQL server is stopped the moment the extract's transaction commits (before the request
 * returns): on the old code the `linkage.relink` job was sent after the commit, failed, and was
 * only logged — lost. Runs its own PostgreSQL so the shared test server is not disturbed.
 */
describe('jobs enqueued in the same transaction as the change that announces them', () => {
  let dataDir: string;
  let db: EmbeddedDatabase;
  let app: NestFastifyApplication;
  let port: number;

  beforeAll(async () => {
    ({ dataDir, port, db, app } = await startOwnDatabaseApi('outbox'));
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await db?.stop();
  });

  it('a database lost right after an extract commits does not lose its linkage.relink job', async () => {
    const identity = app.get(IdentityService);
    const http = () => request(app.getHttpServer());
    const login = async (email: string) =>
      ({
        Authorization: `Bearer ${
          (await http().post('/api/auth/login').send({ email, password: 'outbox-password-1' }).expect(200))
            .body.accessToken
        }`,
      }) as const;
    await identity.createUser(null, {
      email: 'admin@outbox.example',
      password: 'outbox-password-1',
      displayName: 'A',
      roles: ['admin'],
    });
    const admin = await login('admin@outbox.example');
    await http()
      .post('/api/practices')
      .set(admin)
      .send({ odsCode: 'A81001', name: 'Surgery', rollout: 'national' })
      .expect(201);
    await http()
      .post('/api/practices/A81001/awareness')
      .set(admin)
      .send({ startedOn: daysAgo(60), reason: 'test set-up: awareness started earlier' })
      .expect(200);
    await identity.createUser(null, {
      email: 'practice@outbox.example',
      password: 'outbox-password-1',
      displayName: 'P',
      roles: ['practice'],
      practiceOds: 'A81001',
    });
    const practice = await login('practice@outbox.example');

    // The server stops the moment the next transaction of the API commits: the extract's.
    const ds = app.get(DataSource);
    let armed = true;
    let stopped = false;
    ds.subscribers.push({
      afterTransactionCommit: async () => {
        if (!armed) return;
        armed = false;
        await db.stop();
        stopped = true;
      },
    });
    const res = await http()
      .post('/api/practices/A81001/extracts')
      .set(practice)
      .set('Content-Type', 'application/x-ndjson')
      .send(ndjson([patient('p1', nhsNumber(7)), condition('c1', 'p1')]));
    expect({ status: res.status, body: res.body, stopped }).toMatchObject({ status: 201, stopped: true });
    const extractId = res.body.extractId as string;

    db = await startEmbeddedPostgres({ dataDir, password: 'outbox-test', port });
    const sql = new Client({ connectionString: db.url });
    await sql.connect();
    try {
      const { rows } = await sql.query(
        `SELECT (SELECT count(*)::int FROM extracts WHERE id = $1) AS extracts,
                (SELECT count(*)::int FROM pgboss.job WHERE name = 'linkage.relink' AND data->>'extractId' = $1::text) AS jobs`,
        [extractId],
      );
      expect(rows[0]).toEqual({ extracts: 1, jobs: 1 });
    } finally {
      await sql.end();
    }
  }, 120_000);
});
