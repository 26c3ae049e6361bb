import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Client } from 'pg';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { EmbeddedDatabase, startEmbeddedPostgres } from '@custodian/database';
import { startOwnDatabaseApi } from './support/own-database';
import { IdentityService } from '@custodian/identity';

/**
 * Issue 29, an unconfirmed commit: the bid's transaction commits, then the database goes down
 * before the API hears the acknowledgement (stopped from the commit hook, which then fails as the
 * lost connection does). The client gets 503 and re-sends with the same Idempotency-Key once the
 * database is back: it must not get a second bid. Runs its own PostgreSQL.
 */
describe('Idempotency-Key across an unconfirmed commit (database stopped at the commit)', () => {
  let dataDir: string;
  let db: EmbeddedDatabase;
  let app: NestFastifyApplication;
  let port: number;

  beforeAll(async () => {
    ({ dataDir, port, db, app } = await startOwnDatabaseApi('idem'));
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await db?.stop();
  });

  const countBids = async (title: string) => {
    const sql = new Client({ connectionString: db.url });
    await sql.connect();
    try {
      return (await sql.query(`SELECT count(*)::int AS n FROM bids WHERE title = $1`, [title])).rows[0]
        .n as number;
    } finally {
      await sql.end();
    }
  };

  it('a re-send after a 503 whose commit succeeded creates no second bid', async () => {
    const identity = app.get(IdentityService);
    const org = await identity.createOrganisation(null, { name: 'Idem University', kind: 'academic' });
    await identity.createUser(null, {
      email: 'researcher@idem.example',
      password: 'idem-password-1',
      displayName: 'R',
      roles: ['researcher'],
      organisationId: org.id,
    });
    const http = () => request(app.getHttpServer());
    const token = (
      await http()
        .post('/api/auth/login')
        .send({ email: 'researcher@idem.example', password: 'idem-password-1' })
        .expect(200)
    ).body.accessToken;
    const auth = { Authorization: `Bearer ${token}`, 'Idempotency-Key': 'bid-7f3a' };
    const title = 'Unconfirmed commit';
    const body = {
      title,
      purpose: 'Study whether statin prescribing is associated with fewer strokes.',
      publicBenefit: 'Evidence for prescribing guidance on statins.',
      legalBasis: 's251',
      legalBasisReference: 'CAG 7-07(a)/2013',
      requestedTier: 'pseudonymised',
      datasets: [{ dataset: 'gp', fields: ['nhs_number', 'sex', 'code', 'event_date'] }],
      durationMonths: 12,
    };

    // The first commit that stores the bid: the server stops, and the acknowledgement is lost.
    let armed = true;
    app.get(DataSource).subscribers.push({
      afterTransactionCommit: async () => {
        if (!armed || (await countBids(title)) === 0) return;
        armed = false;
        await db.stop();
        throw new Error('Connection terminated unexpectedly');
      },
    });
    const first = await http().post('/api/bids').set(auth).send(body);
    expect(armed).toBe(false);
    expect(first.status).toBe(503);

    db = await startEmbeddedPostgres({ dataDir, password: 'idem-test', port });
    let status = 0;
    for (let i = 0; i < 40 && status !== 200; i++) {
      status = (await http().get('/api/health')).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    const again = await http().post('/api/bids').set(auth).send(body);
    // Never a second bid: the first is still in its lease (409 in flight) or known committed with
    // its answer lost (409 unconfirmed).
    expect(again.status).toBe(409);
    expect(['IDEMPOTENCY_KEY_IN_FLIGHT', 'IDEMPOTENCY_KEY_UNCONFIRMED']).toContain(again.body.code);
    expect(await countBids(title)).toBe(1);
  }, 120_000);
});
