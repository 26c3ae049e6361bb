import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Pool, PoolClient } from 'pg';
import { DataSource } from 'typeorm';
import { loadConfig } from '@custodian/core';
import { createTestApp, TestApp, TEST_PASSWORD } from '@custodian/testing';
import { HES_HEADER, hes, toCsv } from './linkage-fixtures';
import { nhsNumber, patient } from './support/fhir';
import { practiceReady } from './support/practice';

/**
 * Slow and greedy clients (issue 18, API4 unrestricted resource consumption, ASVS V4.4): a client
 * that trickles its headers or body must not hold the service's scarce things — database
 * connections, transactions, row locks — and is itself closed within a minute. Trickling clients
 * are raw sockets to 127.0.0.1, so nothing in between buffers or times them out.
 */

const consentBid = {
  title: 'Statins and stroke in Leeds',
  purpose: 'Study whether statin prescribing is associated with fewer strokes.',
  publicBenefit: 'Evidence for prescribing guidance on statins.',
  legalBasis: 'consent',
  requestedTier: 'identifiable',
  datasets: [{ dataset: 'gp', fields: ['nhs_number', 'sex', 'code', 'event_date'] }],
  durationMonths: 12,
};

interface Trickler {
  socket: Socket;
  /** What the server sent back. */
  received(): string;
  /** Resolves with the milliseconds from opening until the server closed the connection. */
  closed: Promise<number>;
  stop(): void;
}

/**
 * Opens a raw connection, sends `head` (and `first` of the body), then one more byte of `drip`
 * every `everyMs`, forever (until the server closes or stop()).
 */
function trickle(port: number, head: string, drip: string, everyMs: number): Trickler {
  const started = Date.now();
  const socket = connect({ host: '127.0.0.1', port });
  let data = '';
  let i = 0;
  socket.on('data', (c: Buffer) => (data += c.toString('utf8')));
  socket.on('error', () => undefined);
  const timer = setInterval(() => {
    if (!socket.destroyed && socket.writable) socket.write(drip[i++ % drip.length]);
  }, everyMs);
  const closed = new Promise<number>((resolve) =>
    socket.once('close', () => {
      clearInterval(timer);
      resolve(Date.now() - started);
    }),
  );
  socket.write(head);
  return {
    socket,
    received: () => data,
    closed,
    stop: () => {
      clearInterval(timer);
      socket.destroy();
    },
  };
}

const cohortHead = (id: string, token: string, length = 100_000) =>
  `PUT /api/bids/${id}/cohort HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\n` +
  `Content-Type: text/plain\r\nContent-Length: ${length}\r\n\r\n9434765919\n`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function listen(t: TestApp): Promise<number> {
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  return (t.app.getHttpServer().address() as AddressInfo).port;
}

describe('slow clients: uploads hold no database connection while their bytes trickle in', () => {
  let t: TestApp;
  let port: number;
  const open: Trickler[] = [];

  beforeAll(async () => {
    t = await createTestApp();
    port = await listen(t);
  });
  afterEach(() => {
    for (const x of open.splice(0)) x.stop();
  });
  afterAll(() => t?.close());

  const researcherWithBid = async () => {
    const r = await t.as('researcher');
    const id = (await t.http.post('/api/bids').set(r.auth).send(consentBid).expect(201)).body.id as string;
    return { ...r, bidId: id };
  };

  it('25 trickling cohort uploads at once (pool of 20): a login still completes within 2 s', async () => {
    // Two uploads per researcher (the per-user limit), 13 researchers.
    const researchers = await Promise.all(Array.from({ length: 13 }, () => researcherWithBid()));
    const signIn = await t.factory.user({ roles: ['auditor'] });
    for (let n = 0; n < 25; n++) {
      const r = researchers[n % researchers.length];
      open.push(trickle(port, cohortHead(r.bidId, r.token), '9434765919\n', 1000));
    }
    await sleep(1500);
    const started = Date.now();
    const res = await t.http.post('/api/auth/login').send({ email: signIn.email, password: TEST_PASSWORD });
    const took = Date.now() - started;
    expect(res.status).toBe(200);
    expect(took).toBeLessThan(2000);
    expect((await t.http.get('/api/health')).status).toBe(200);
    // The uploads hold no connection, transaction or lock: the bids are not locked.
    const locks = await t.sql.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'custodian-api' AND state LIKE 'idle in transaction%'`,
    );
    expect(locks.rows[0].n).toBe(0);
  });

  it('a third upload at once by one user is refused with 429 TOO_MANY_UPLOADS, before its body is read', async () => {
    const r = await researcherWithBid();
    open.push(trickle(port, cohortHead(r.bidId, r.token), '9', 1000));
    open.push(trickle(port, cohortHead(r.bidId, r.token), '9', 1000));
    await sleep(500);
    const third = await t.http
      .put(`/api/bids/${r.bidId}/cohort`)
      .set(r.auth)
      .set('content-type', 'text/plain')
      .send('9434765919\n');
    expect(third.status).toBe(429);
    expect(third.body).toMatchObject({ statusCode: 429, code: 'TOO_MANY_UPLOADS' });
    expect(third.headers['retry-after']).toBeDefined();
    // Another user is not affected, and a finished upload gives its slot back.
    const other = await researcherWithBid();
    await t.http
      .put(`/api/bids/${other.bidId}/cohort`)
      .set(other.auth)
      .set('content-type', 'text/plain')
      .send('9434765919\n')
      .expect(200);
    for (const x of open.splice(0)) x.stop();
    await sleep(300);
    await t.http
      .put(`/api/bids/${r.bidId}/cohort`)
      .set(r.auth)
      .set('content-type', 'text/plain')
      .send('9434765919\n')
      .expect(200);
  });

  it('a trickling extract or HES file holds no lock: the next one of the same practice, or the next load, goes through', async () => {
    const admin = await t.as('admin');
    const practice = await practiceReady(t, admin.auth, 'A81009');
    const practiceToken = practice.Authorization.slice('Bearer '.length);
    // An extract trickling in (it used to hold the practice's advisory lock and row lock)…
    open.push(
      trickle(
        port,
        `POST /api/practices/A81009/extracts HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${practiceToken}\r\n` +
          `Content-Type: application/x-ndjson\r\nContent-Length: 100000\r\n\r\n`,
        ' ',
        1000,
      ),
    );
    // …and a HES file trickling in (it used to hold the linkage lock that every load and re-link takes).
    const slowManager = await t.as('data_manager');
    open.push(
      trickle(
        port,
        `POST /api/sources/hes HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${slowManager.token}\r\n` +
          `Content-Type: text/csv\r\nContent-Length: 100000\r\n\r\n${HES_HEADER.join(',')}\n`,
        ' ',
        1000,
      ),
    );
    await sleep(1000);
    // What the trickles could hold began before this instant; the jobs the two uploads below
    // enqueue (sweeps, re-links) run their own short transactions after it.
    const [{ before }] = (await t.sql.query(`SELECT clock_timestamp() AS before`)).rows;
    const extract = `${JSON.stringify(patient('slow-p1', nhsNumber(880_001), {}, 'A81009'))}\n`;
    const stored = await Promise.race([
      t.http
        .post('/api/practices/A81009/extracts')
        .set(practice)
        .set('content-type', 'application/x-ndjson')
        .send(extract),
      sleep(8000).then(() => undefined),
    ]);
    expect(stored?.status).toBe(201);
    const manager = await t.as('data_manager');
    const loaded = await Promise.race([
      t.http
        .post('/api/sources/hes')
        .set(manager.auth)
        .set('content-type', 'text/csv')
        .send(toCsv(HES_HEADER, [hes('SLOW1', nhsNumber(880_001), '1970-03-04', '2', 'LS1 4AP')])),
      sleep(8000).then(() => undefined),
    ]);
    expect(loaded?.status).toBe(201);
    // No session of this database sits in a transaction waiting for a client's bytes.
    const waiting = await t.sql.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'custodian-api' AND state LIKE 'idle in transaction%'
          AND xact_start < $1`,
      [before],
    );
    expect(waiting.rows[0].n).toBe(0);
  });

  it('health answers 503 POOL_SATURATED while every pooled connection is held, and 200 after', async () => {
    const pool = (t.app.get(DataSource).driver as unknown as { master: Pool }).master;
    const held: PoolClient[] = [];
    for (let n = 0; n < 20; n++) held.push(await pool.connect());
    try {
      const started = Date.now();
      const res = await t.http.get('/api/health');
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ status: 'degraded', code: 'POOL_SATURATED' });
      expect(Date.now() - started).toBeLessThan(2500);
    } finally {
      for (const c of held) c.release();
    }
    expect((await t.http.get('/api/health')).status).toBe(200);
  });
});

describe('slow clients: trickled headers and bodies are closed', () => {
  let t: TestApp;
  let port: number;
  const open: Trickler[] = [];

  beforeAll(async () => {
    t = await createTestApp({ HTTP_BODY_WINDOW_SECONDS: '2', HTTP_HEADERS_TIMEOUT_SECONDS: '2' });
    port = await listen(t);
  });
  afterEach(() => {
    for (const x of open.splice(0)) x.stop();
  });
  afterAll(() => t?.close());

  it('the defaults close a trickling client within 60 s', () => {
    const config = loadConfig({
      NODE_ENV: 'test',
      JWT_SECRET: 'x'.repeat(40),
      PSEUDONYM_KEY_SECRET: 'y'.repeat(40),
    });
    expect(config.httpHeadersTimeoutSeconds).toBeLessThanOrEqual(60);
    // A body below the rate is closed at the end of its first window.
    expect(config.httpBodyWindowSeconds).toBeLessThanOrEqual(60);
    expect(config.httpBodyMinBytesPerSecond).toBeGreaterThan(0);
    expect(() => loadConfig({ NODE_ENV: 'test', HTTP_BODY_WINDOW_SECONDS: '600' })).toThrow(
      /HTTP_BODY_WINDOW_SECONDS/,
    );
    // This file's server runs with the short values given above.
    expect(t.app.getHttpServer().headersTimeout).toBe(2000);
  });

  it('a body trickled one byte a second to an upload is answered 408 and closed', async () => {
    const r = await t.as('researcher');
    const id = (await t.http.post('/api/bids').set(r.auth).send(consentBid).expect(201)).body.id as string;
    const x = trickle(port, cohortHead(id, r.token), '9434765919\n', 1000);
    open.push(x);
    const ms = await Promise.race([x.closed, sleep(15_000).then(() => -1)]);
    expect(ms).toBeGreaterThan(0);
    expect(ms).toBeLessThan(8000);
    expect(x.received()).toMatch(/^HTTP\/1\.1 408/);
    expect(x.received()).toContain('BODY_TOO_SLOW');
  });

  it('a JSON body trickled to the (public) login is closed', async () => {
    const x = trickle(
      port,
      `POST /api/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"email":`,
      ' ',
      1000,
    );
    open.push(x);
    const ms = await Promise.race([x.closed, sleep(15_000).then(() => -1)]);
    expect(ms).toBeGreaterThan(0);
    expect(ms).toBeLessThan(8000);
    expect(x.received()).toMatch(/^HTTP\/1\.1 408/);
  });

  it('headers trickled one byte a second are closed', async () => {
    const x = trickle(port, 'GET /api/health HTTP/1.1\r\nHost: localhost\r\n', 'X-Slow: aaaaaaaa', 1000);
    open.push(x);
    const ms = await Promise.race([x.closed, sleep(15_000).then(() => -1)]);
    expect(ms).toBeGreaterThan(0);
    expect(ms).toBeLessThan(8000);
  });

  it('an honest upload is not slowed down: a 200 000-line cohort at full speed', async () => {
    const r = await t.as('researcher');
    const id = (await t.http.post('/api/bids').set(r.auth).send(consentBid).expect(201)).body.id as string;
    const lines = Array.from({ length: 200_000 }, () => '9434765919').join('\n');
    const started = Date.now();
    const res = await t.http
      .put(`/api/bids/${id}/cohort`)
      .set(r.auth)
      .set('content-type', 'text/plain')
      .send(lines)
      .expect(200);
    expect(res.body).toEqual({ received: 200_000, stored: 1, duplicates: 199_999 });
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
