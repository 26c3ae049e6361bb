import { createTestApp, TestApp } from '@custodian/testing';
import { IdempotencyInterceptor } from '../apps/api/src/idempotency';
import { condition, ndjson, nhsNumber, patient } from './support/fhir';
import { practiceReady } from './support/practice';

/**
 * Issue 29: `Idempotency-Key` on creating POSTs. The same key from the same user with the same
 * request returns the first answer and creates nothing; another request under the key is 422; a
 * duplicate arriving while the first runs is 409; keys are per user; a failure that stored nothing
 * frees the key; keys are forgotten after 24 hours. (The unconfirmed-commit fault itself, with the
 * database stopped at the commit, is in idempotency-fault.e2e-spec.ts.)
 */
const bid = (title: string) => ({
  title,
  purpose: 'Study whether statin prescribing is associated with fewer strokes.',
  publicBenefit: 'Evidence for prescribing guidance on statins.',
  legalBasis: 's251',
  legalBasisReference: 'CAG 7-07(a)/2013',
  requestedTier: 'pseudonymised',
  datasets: [{ dataset: 'gp', fields: ['nhs_number', 'sex', 'code', 'event_date'] }],
  durationMonths: 12,
});

describe('Idempotency-Key on creating POSTs (issue 29)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  const bidsTitled = async (title: string) =>
    (await t.sql.query(`SELECT count(*)::int AS n FROM bids WHERE title = $1`, [title])).rows[0].n as number;

  it('the same key and request return the first answer and create one bid', async () => {
    const r = await t.as('researcher');
    const first = await t.http
      .post('/api/bids')
      .set(r.auth)
      .set('Idempotency-Key', 'k-same-1')
      .send(bid('Idem same'))
      .expect(201);
    // The same body in another key order is the same request.
    const { title, ...rest } = bid('Idem same');
    const again = await t.http
      .post('/api/bids')
      .set(r.auth)
      .set('Idempotency-Key', 'k-same-1')
      .send({ ...rest, title })
      .expect(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(await bidsTitled('Idem same')).toBe(1);
  });

  it('the same key with another request is 422 IDEMPOTENCY_KEY_REUSED, and creates nothing', async () => {
    const r = await t.as('researcher');
    await t.http
      .post('/api/bids')
      .set(r.auth)
      .set('Idempotency-Key', 'k-reuse')
      .send(bid('Idem A'))
      .expect(201);
    const res = await t.http
      .post('/api/bids')
      .set(r.auth)
      .set('Idempotency-Key', 'k-reuse')
      .send(bid('Idem B'))
      .expect(422);
    expect(res.body).toMatchObject({ statusCode: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
    expect(await bidsTitled('Idem B')).toBe(0);
  });

  it("a key is the user's own: another user's identical key never replays the first user's answer", async () => {
    const a = await t.as('researcher');
    const b = await t.as('researcher');
    const first = await t.http
      .post('/api/bids')
      .set(a.auth)
      .set('Idempotency-Key', 'shared-key')
      .send(bid('Idem per user'))
      .expect(201);
    const other = await t.http
      .post('/api/bids')
      .set(b.auth)
      .set('Idempotency-Key', 'shared-key')
      .send(bid('Idem per user'))
      .expect(201);
    expect(other.body.id).not.toBe(first.body.id);
    expect(other.headers['idempotent-replayed']).toBeUndefined();
    expect(await bidsTitled('Idem per user')).toBe(2);
  });

  it('a duplicate sent while the first is still running is 409 IDEMPOTENCY_KEY_IN_FLIGHT', async () => {
    const r = await t.as('researcher');
    const blocker = await t.db.superuser();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE bids IN SHARE MODE');
      const first = t.http
        .post('/api/bids')
        .set(r.auth)
        .set('Idempotency-Key', 'k-flight')
        .send(bid('Idem flight'))
        .then((x) => x);
      for (let i = 0; i < 100; i++) {
        const { rows } = await t.sql.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        );
        if (rows[0].n > 0) break;
        await new Promise((res) => setTimeout(res, 50));
      }
      const second = await t.http
        .post('/api/bids')
        .set(r.auth)
        .set('Idempotency-Key', 'k-flight')
        .send(bid('Idem flight'));
      expect(second.status).toBe(409);
      expect(second.body.code).toBe('IDEMPOTENCY_KEY_IN_FLIGHT');
      await blocker.query('COMMIT');
      expect((await first).status).toBe(201);
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      await blocker.end();
    }
    expect(await bidsTitled('Idem flight')).toBe(1);
  });

  it('a request refused without storing anything frees its key', async () => {
    const r = await t.as('researcher');
    await t.http
      .post('/api/bids')
      .set(r.auth)
      .set('Idempotency-Key', 'k-fix')
      .send({ ...bid('Idem fix'), durationMonths: -1 })
      .expect(400);
    await t.http
      .post('/api/bids')
      .set(r.auth)
      .set('Idempotency-Key', 'k-fix')
      .send(bid('Idem fix'))
      .expect(201);
    expect(await bidsTitled('Idem fix')).toBe(1);
  });

  it('keys are kept 24 hours, then forgotten (and cleaned up)', async () => {
    const r = await t.as('researcher');
    await t.http
      .post('/api/bids')
      .set(r.auth)
      .set('Idempotency-Key', 'k-old')
      .send(bid('Idem old'))
      .expect(201);
    await t.sql.query(
      `UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE user_id = $1 AND key = 'k-old'`,
      [r.user.id],
    );
    await t.http
      .post('/api/bids')
      .set(r.auth)
      .set('Idempotency-Key', 'k-old')
      .send(bid('Idem old'))
      .expect(201);
    expect(await bidsTitled('Idem old')).toBe(2);
    await t.sql.query(
      `UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE user_id = $1`,
      [r.user.id],
    );
    expect(await t.app.get(IdempotencyInterceptor).deleteExpired()).toBeGreaterThan(0);
    const { rows } = await t.sql.query(`SELECT count(*)::int AS n FROM idempotency_keys WHERE user_id = $1`, [
      r.user.id,
    ]);
    expect(rows[0].n).toBe(0);
  });

  it('an invalid key is 400 IDEMPOTENCY_KEY_INVALID; organisations are covered too', async () => {
    const admin = await t.as('admin');
    const bad = await t.http
      .post('/api/organisations')
      .set(admin.auth)
      .set('Idempotency-Key', 'x'.repeat(201))
      .send({ name: 'Idem Org', kind: 'charity' })
      .expect(400);
    expect(bad.body.code).toBe('IDEMPOTENCY_KEY_INVALID');
    const a = await t.http
      .post('/api/organisations')
      .set(admin.auth)
      .set('Idempotency-Key', 'org-1')
      .send({ name: 'Idem Org', kind: 'charity' })
      .expect(201);
    const b = await t.http
      .post('/api/organisations')
      .set(admin.auth)
      .set('Idempotency-Key', 'org-1')
      .send({ name: 'Idem Org', kind: 'charity' })
      .expect(201);
    expect(b.body).toEqual(a.body);
    const { rows } = await t.sql.query(
      `SELECT count(*)::int AS n FROM organisations WHERE name = 'Idem Org'`,
    );
    expect(rows[0].n).toBe(1);
  });

  it('a streamed body (an extract) is covered too: hashed as it is read', async () => {
    const admin = await t.as('admin');
    const practice = await practiceReady(t, admin.auth, 'C83003');
    const send = (key: string, body: string) =>
      t.http
        .post('/api/practices/C83003/extracts')
        .set(practice)
        .set('Idempotency-Key', key)
        .set('Content-Type', 'application/x-ndjson')
        .send(body);
    const extract = ndjson([patient('p1', nhsNumber(41), {}, 'C83003'), condition('c1', 'p1')]);
    const first = await send('x-1', extract).expect(201);
    const again = await send('x-1', extract).expect(201);
    expect(again.body.extractId).toBe(first.body.extractId);
    expect(again.headers['idempotent-replayed']).toBe('true');
    const other = ndjson([patient('p2', nhsNumber(42), {}, 'C83003')]);
    expect((await send('x-1', other).expect(422)).body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    const { rows } = await t.sql.query(
      `SELECT count(*)::int AS n FROM extracts WHERE practice_ods = 'C83003'`,
    );
    expect(rows[0].n).toBe(1);
  });
});
