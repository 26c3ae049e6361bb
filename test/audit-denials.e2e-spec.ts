import { randomUUID } from 'node:crypto';
import { AuditService } from '@custodian/audit';
import request from 'supertest';
import { createTestApp, TestApp } from '@custodian/testing';
import { createApiApp } from '../apps/api/src/bootstrap';
import { from, inParallel, listen } from './support/client-address';
import { practiceReady } from './support/practice';

type Session = Awaited<ReturnType<TestApp['as']>>;

const bidBody = {
  title: 'Denied access study',
  purpose: 'Check that refusals are on the audit trail.',
  publicBenefit: 'Accountability of access to patient data.',
  legalBasis: 's251',
  legalBasisReference: 'CAG 7-07(a)/2013',
  requestedTier: 'pseudonymised',
  datasets: [{ dataset: 'gp', fields: ['nhs_number', 'code', 'event_date'] }],
  cohort: {
    practices: ['A81001'],
    conditionCodes: ['22298006'],
    eventsFrom: '2010-01-01',
    eventsTo: '2014-12-31',
  },
  durationMonths: 12,
};

/** Every denial that reached the server: chained entries (each with its count) plus counts not yet chained. */
async function denials(
  t: TestApp,
  where: string,
  params: unknown[] = [],
): Promise<{ rows: number; count: number }> {
  const chained = await t.sql.query(
    `SELECT count(*)::int AS rows, coalesce(sum(coalesce((details->>'count')::int, 1)), 0)::int AS count
       FROM audit_log WHERE outcome = 'denied' AND ${where}`,
    params,
  );
  const pending = await t.sql
    .query(
      `SELECT coalesce(sum(pending), 0)::int AS n FROM audit_denials WHERE outcome = 'denied' AND ${where}`,
      params,
    )
    .then((r) => r.rows[0].n as number)
    .catch(() => 0); // no such table before the counters existed
  return { rows: chained.rows[0].rows, count: chained.rows[0].count + pending };
}

/**
 * Denials are counted per minute (by the database clock): a burst that straddles a minute boundary
 * is two windows, each with its own first entry. Start bursts well inside a minute.
 */
async function awayFromMinuteEdge(t: TestApp, seconds: number): Promise<void> {
  const { rows } = await t.sql.query(`SELECT extract(second FROM clock_timestamp())::float8 AS s`);
  const left = 60 - rows[0].s;
  if (left < seconds) await new Promise((r) => setTimeout(r, left * 1000 + 200));
}

describe('object-level refusals are audited', () => {
  let t: TestApp;
  let admin: Session;
  let researcherA: Session;
  let researcherB: Session;
  beforeAll(async () => {
    t = await createTestApp();
    admin = await t.as('admin');
    researcherA = await t.as('researcher');
    researcherB = await t.as('researcher');
  });
  afterAll(() => t?.close());

  const entries = async (actorId: string, subjectId: string) =>
    (
      await t.sql.query(
        `SELECT action, outcome, actor_id, subject_id, details FROM audit_log
          WHERE outcome = 'denied' AND actor_id = $1 AND subject_id = $2 ORDER BY id`,
        [actorId, subjectId],
      )
    ).rows;

  it("another organisation's bid: 404 exactly as for no bid at all, and a denied entry", async () => {
    const created = await t.http.post('/api/bids').set(researcherA.auth).send(bidBody);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id as string;
    const elsewhere = await t.http.get(`/api/bids/${id}`).set(researcherB.auth).expect(404);
    const missing = await t.http.get(`/api/bids/${randomUUID()}`).set(researcherB.auth).expect(404);
    expect(elsewhere.body).toEqual(missing.body);
    expect(Object.keys(elsewhere.headers).sort()).toEqual(Object.keys(missing.headers).sort());
    const rows = await entries(researcherB.user.id, id);
    expect(rows).toEqual([
      {
        action: 'access.denied',
        outcome: 'denied',
        actor_id: researcherB.user.id,
        subject_id: id,
        details: { method: 'GET', route: '/api/bids/:id', status: 404, code: elsewhere.body.code, count: 1 },
      },
    ]);
    // A refusal inside the request's transaction (which rolls back) is still on the trail.
    await t.http.patch(`/api/bids/${id}`).set(researcherB.auth).send({ title: 'Mine now' }).expect(404);
    expect((await entries(researcherB.user.id, id)).map((r) => r.details.method)).toEqual(['GET', 'PATCH']);
  });

  it("another practice's practice, awareness and extract: denied entries", async () => {
    const own = await practiceReady(t, admin.auth, 'J00001');
    await practiceReady(t, admin.auth, 'J00002');
    const me = (await t.http.get('/api/auth/me').set(own).expect(200)).body.id as string;
    await t.http.get('/api/practices/J00002').set(own).expect(404);
    await t.http
      .post('/api/practices/J00002/awareness')
      .set(own)
      .send({ startedOn: '2026-01-01' })
      .expect(404);
    await t.http
      .post('/api/practices/J00002/extracts')
      .set(own)
      .set('Content-Type', 'application/x-ndjson')
      .send('{"resourceType":"Patient"}\n')
      .expect(404);
    const rows = await entries(me, 'J00002');
    expect(rows.map((r) => `${r.details.method} ${r.details.route} ${r.details.status}`)).toEqual([
      'GET /api/practices/:ods 404',
      'POST /api/practices/:ods/awareness 404',
      'POST /api/practices/:ods/extracts 404',
    ]);
  });

  it('a release read or download by someone who is not its recipient: denied entries', async () => {
    const { rows } = await t.sql.query(
      `INSERT INTO releases (bid_id, state, tier, legal_basis, spec, requested_by, token_seed_enc)
       VALUES ($1, 'completed', 'aggregate', 's251', $2, $3, '\\x00') RETURNING id`,
      [randomUUID(), JSON.stringify({ recipients: [researcherA.user.id] }), admin.user.id],
    );
    const id = rows[0].id as string;
    await t.http.get(`/api/releases/${id}`).set(researcherB.auth).expect(404);
    await t.http.get(`/api/releases/${id}/files/manifest.json`).set(researcherB.auth).expect(404);
    const got = await entries(researcherB.user.id, id);
    expect(got.map((r) => `${r.details.method} ${r.details.route} ${r.details.status}`)).toEqual([
      'GET /api/releases/:id 404',
      'GET /api/releases/:id/files/:name 404',
    ]);
  });

  it('repeated identical refusals are one counted entry, summarised when the minute closes', async () => {
    const id = randomUUID();
    await awayFromMinuteEdge(t, 10);
    for (let i = 0; i < 5; i++) await t.http.get(`/api/bids/${id}`).set(researcherB.auth).expect(404);
    const before = await denials(t, `subject_id = $1`, [id]);
    expect(before).toEqual({ rows: 1, count: 5 });
    await t.app.get(AuditService).flushDenials(new Date(Date.now() + 120_000));
    expect(await denials(t, `subject_id = $1`, [id])).toEqual({ rows: 2, count: 5 });
    const verify = await t.http
      .get('/api/audit/verify')
      .set((await t.as('auditor')).auth)
      .expect(200);
    expect(verify.body.ok).toBe(true);
  }, 60_000);
});

describe('a flood of bad tokens', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
    await listen(t);
  });
  afterAll(() => t?.close());

  it('is rate-limited per address (429, Retry-After) and leaves a handful of counted audit entries', async () => {
    const auth = { Authorization: 'Bearer not.a.token' };
    await awayFromMinuteEdge(t, 25);
    const statuses = await inParallel(400, 10, async () => {
      const res = await from(t, '127.0.0.5', 'GET', '/api/auth/me', { headers: auth });
      if (res.status === 429) {
        expect(res.body).toEqual({
          statusCode: 429,
          error: 'Too Many Requests',
          message: expect.any(String),
          code: 'AUTH_FAILURES_THROTTLED',
        });
        expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      }
      return res.status;
    });
    expect(statuses.filter((s) => s === 401).length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(300);
    expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);

    // Other clients are not affected: a bad token elsewhere is a 401, a good one works everywhere.
    const other = await from(t, '127.0.0.6', 'GET', '/api/auth/me', { headers: auth });
    expect(other.status).toBe(401);
    const user = await t.as('researcher');
    expect((await from(t, '127.0.0.6', 'GET', '/api/auth/me', { headers: user.auth })).status).toBe(200);
    expect((await from(t, '127.0.0.5', 'GET', '/api/auth/me', { headers: user.auth })).status).toBe(200);

    const where = `ip LIKE '%127.0.0.5'`;
    const now = await denials(t, where);
    expect(now.rows).toBeLessThanOrEqual(5);
    expect(now.count).toBe(400);
    await t.app.get(AuditService).flushDenials(new Date(Date.now() + 120_000));
    const flushed = await denials(t, where);
    expect(flushed.rows).toBeLessThanOrEqual(5);
    expect(flushed.count).toBe(400);
    const verify = await t.http
      .get('/api/audit/verify')
      .set((await t.as('auditor')).auth)
      .expect(200);
    expect(verify.body.ok).toBe(true);
  }, 60_000);
});

describe('denial counts shared by API processes', () => {
  it('two processes count into one entry; a count no process swept is chained once, even by two sweeping at once', async () => {
    const t = await createTestApp();
    const other = await createApiApp(t.config, t.db.url);
    try {
      const researcher = await t.as('researcher');
      const id = randomUUID();
      await awayFromMinuteEdge(t, 15);
      for (let i = 0; i < 5; i++) await t.http.get(`/api/bids/${id}`).set(researcher.auth).expect(404);
      for (let i = 0; i < 3; i++)
        await request(other.getHttpServer()).get(`/api/bids/${id}`).set(researcher.auth).expect(404);
      // Nothing in either process's memory: the count is in the table (a crash here loses none of it).
      expect(await denials(t, `subject_id = $1`, [id])).toEqual({ rows: 1, count: 8 });
      const later = new Date(Date.now() + 120_000);
      await Promise.all([
        t.app.get(AuditService).flushDenials(later),
        other.get(AuditService).flushDenials(later),
      ]);
      expect(await denials(t, `subject_id = $1`, [id])).toEqual({ rows: 2, count: 8 });
      const { rows } = await t.sql.query(
        `SELECT details->>'count' AS count FROM audit_log WHERE subject_id = $1 ORDER BY audit_log.id`,
        [id],
      );
      expect(rows.map((r) => r.count)).toEqual(['1', '7']);
    } finally {
      await other.close();
      await t.close();
    }
  }, 60_000);
});
