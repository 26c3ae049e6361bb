import { ChildProcess } from 'node:child_process';
import { PrincipalCache } from '../libs/auth/src/principal-cache';
import { BidsService } from '@custodian/bids';
import { createTestApp, TestApp } from '@custodian/testing';
import { killWorker, startApi } from './support/worker-process';

/**
 * Session checks are reused for a few seconds per process (CACHE_SECONDS, 10 by default), but
 * a change to a session or user must still end access at once, in every process.
 */
/** A minimal valid bid (SPEC §4). */
const bidBody = (title: string) => ({
  title,
  purpose: 'Study whether statin prescribing is associated with fewer strokes.',
  publicBenefit: 'Evidence for prescribing guidance on statins.',
  legalBasis: 's251',
  legalBasisReference: 'CAG 7-07(a)/2013',
  requestedTier: 'pseudonymised',
  datasets: [{ dataset: 'gp', fields: ['nhs_number', 'code', 'event_date'] }],
  cohort: { practices: ['A81001'] },
  durationMonths: 12,
});

describe('caches that never outlive a committed change', () => {
  let t: TestApp;
  let other: { child: ChildProcess; url: string };
  beforeAll(async () => {
    t = await createTestApp();
    // A second API process on the same database: the built service, as `npm start` runs it.
    other = await startApi(t);
  });
  afterAll(async () => {
    if (other) await killWorker(other.child);
    await t?.close();
  });

  const claims = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
  const me = (token: string) => t.http.get('/api/auth/me').set('Authorization', `Bearer ${token}`);
  const meThere = (token: string) =>
    fetch(`${other.url}/api/auth/me`, { headers: { authorization: `Bearer ${token}` } }).then(
      (r) => r.status,
    );
  const cache = () => t.app.get(PrincipalCache);
  const listeners = async () =>
    (
      await t.sql.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE application_name = 'custodian-change-feed' AND datname = current_database()`,
      )
    ).rows[0].n as number;

  /** Authenticates until this process answers from its cache (the listener connects on first use). */
  async function cached(token: string) {
    const { sid, sub } = claims(token);
    for (let i = 0; i < 100 && !cache().get(sid, sub); i++) {
      await me(token).expect(200);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(cache().get(sid, sub)?.id).toBe(sub);
  }

  /** Milliseconds until `status()` is 401; fails after 2 s (the cache keeps entries for 10 s). */
  async function refusedWithin(status: () => Promise<number>): Promise<number> {
    const t0 = Date.now();
    while (Date.now() - t0 < 2_000) {
      const s = await status();
      if (s === 401) return Date.now() - t0;
      expect(s).toBe(200);
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error('the token was still accepted 2 s after the change');
  }

  it('remembers a checked session, and a logout ends it at once', async () => {
    const user = await t.factory.user();
    const token = await t.login(user.email);
    await cached(token);
    await t.http.post('/api/auth/logout').set('Authorization', `Bearer ${token}`).expect(204);
    await me(token).expect(401);
  });

  it('a logout in one process ends the session in another as soon as PostgreSQL tells it', async () => {
    const user = await t.factory.user();
    const token = await t.login(user.email);
    const before = await listeners();
    for (let i = 0; i < 20; i++) {
      expect(await meThere(token)).toBe(200);
      await new Promise((r) => setTimeout(r, 20));
    }
    // The other process is listening too (it opened its connection on its first request).
    expect(await listeners()).toBe(before + 1);
    await t.http.post('/api/auth/logout').set('Authorization', `Bearer ${token}`).expect(204);
    await refusedWithin(() => meThere(token));
  });

  it('a change made by hand in SQL (user disabled) reaches every process', async () => {
    const user = await t.factory.user();
    const token = await t.login(user.email);
    await cached(token);
    expect(await meThere(token)).toBe(200);
    await t.sql.query('UPDATE users SET disabled = true WHERE id = $1', [user.id]);
    await refusedWithin(() => me(token).then((r) => r.status));
    await refusedWithin(() => meThere(token));
  });

  it('a role change takes effect at once in the process that made it', async () => {
    const admin = await t.as('admin');
    const user = await t.factory.user({ roles: ['researcher'] });
    const token = await t.login(user.email);
    await cached(token);
    await t.http
      .patch(`/api/users/${user.id}`)
      .set(admin.auth)
      .send({ roles: ['researcher', 'data_manager'] })
      .expect(200);
    await me(token).expect(401);
  });

  it('caches nothing while its listening connection is down, and listens again', async () => {
    const user = await t.factory.user();
    const token = await t.login(user.email);
    await cached(token);
    await t.sql.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE application_name = 'custodian-change-feed' AND datname = current_database()`,
    );
    for (let i = 0; i < 200 && cache().isListening(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(cache().isListening()).toBe(false);
    // A change made while nobody listens must still be seen by the next request.
    await t.sql.query('UPDATE users SET disabled = true WHERE id = $1', [user.id]);
    await me(token).expect(401);
    expect(await meThere(token)).toBe(401);
    await t.sql.query('UPDATE users SET disabled = false WHERE id = $1', [user.id]);
    // It reconnects on a later request (at most once a second) and caches again.
    const again = await t.login(user.email);
    const t0 = Date.now();
    while (!cache().isListening() && Date.now() - t0 < 5_000) {
      await me(again).expect(200);
      await new Promise((r) => setTimeout(r, 50));
    }
    await cached(again);
    expect(await meThere(again)).toBe(200);
  });

  it('TRUNCATE of the sessions (everyone signed out by hand) reaches every process', async () => {
    const user = await t.factory.user();
    const token = await t.login(user.email);
    await cached(token);
    expect(await meThere(token)).toBe(200);
    await t.sql.query('TRUNCATE auth_sessions CASCADE');
    await refusedWithin(() => me(token).then((r) => r.status));
    await refusedWithin(() => meThere(token));
  });

  describe('bid reads', () => {
    const reads = () => (t.app.get(BidsService) as unknown as { reads: { size: number } }).reads;
    const listThere = (token: string) =>
      fetch(`${other.url}/api/bids?limit=50`, { headers: { authorization: `Bearer ${token}` } }).then(
        async (r) => (await r.json()) as { items: { id: string; title: string }[]; total: number },
      );

    it('a change committed by this process is read back at once (list and bid)', async () => {
      const r = await t.as('researcher');
      const bid = (await t.http.post('/api/bids').set(r.auth).send(bidBody('First title')).expect(201)).body;
      await t.http.get('/api/bids?limit=50').set(r.auth).expect(200);
      await t.http.get(`/api/bids/${bid.id}`).set(r.auth).expect(200);
      expect(reads().size).toBeGreaterThan(0);
      await t.http.patch(`/api/bids/${bid.id}`).set(r.auth).send({ title: 'Second title' }).expect(200);
      const list = await t.http.get('/api/bids?limit=50').set(r.auth).expect(200);
      expect(list.body.items.map((b: { title: string }) => b.title)).toEqual(['Second title']);
      const one = await t.http.get(`/api/bids/${bid.id}`).set(r.auth).expect(200);
      expect(one.body.title).toBe('Second title');
      const second = (await t.http.post('/api/bids').set(r.auth).send(bidBody('Another')).expect(201)).body;
      const after = await t.http.get('/api/bids?limit=50').set(r.auth).expect(200);
      expect(after.body.total).toBe(2);
      expect(after.body.items[0].id).toBe(second.id);
    });

    it('a change committed elsewhere (another process, or SQL) reaches every process', async () => {
      const r = await t.as('researcher');
      const bid = (await t.http.post('/api/bids').set(r.auth).send(bidBody('Before')).expect(201)).body;
      // Both processes have read (and kept) the page.
      for (let i = 0; i < 3; i++) {
        await t.http.get('/api/bids?limit=50').set(r.auth).expect(200);
        expect((await listThere(r.token)).items[0].title).toBe('Before');
      }
      await t.sql.query(`UPDATE bids SET title = 'After' WHERE id = $1`, [bid.id]);
      const titleHere = async () =>
        (await t.http.get('/api/bids?limit=50').set(r.auth)).body.items[0].title as string;
      for (const read of [titleHere, async () => (await listThere(r.token)).items[0].title]) {
        const t0 = Date.now();
        while ((await read()) !== 'After') {
          if (Date.now() - t0 > 2_000) throw new Error('the change was not seen within 2 s');
          await new Promise((res) => setTimeout(res, 5));
        }
      }
      // A transition made through the other process's API.
      const w = await fetch(`${other.url}/api/bids/${bid.id}/withdraw`, {
        method: 'POST',
        headers: { authorization: `Bearer ${r.token}`, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(w.status).toBeLessThan(300);
      const t0 = Date.now();
      while ((await t.http.get(`/api/bids/${bid.id}`).set(r.auth)).body.state !== 'withdrawn') {
        if (Date.now() - t0 > 2_000) throw new Error('the withdrawal was not seen within 2 s');
        await new Promise((res) => setTimeout(res, 5));
      }
    });

    it('another organisation never gets a cached page of ours', async () => {
      const a = await t.as('researcher');
      const b = await t.as('researcher');
      const bid = (await t.http.post('/api/bids').set(a.auth).send(bidBody('Ours')).expect(201)).body;
      await t.http.get('/api/bids?limit=50').set(a.auth).expect(200);
      await t.http.get(`/api/bids/${bid.id}`).set(a.auth).expect(200);
      const theirs = await t.http.get('/api/bids?limit=50').set(b.auth).expect(200);
      expect(theirs.body).toMatchObject({ items: [], total: 0 });
      await t.http.get(`/api/bids/${bid.id}`).set(b.auth).expect(404);
    });
  });
});
