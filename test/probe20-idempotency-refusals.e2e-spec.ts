import { createTestApp, TestApp } from '@custodian/testing';
import { ndjson, nhsNumber, patient, READ } from './support/fhir';
import { practiceReady } from './support/practice';

/**
 * Probe 20, finding 1: `Idempotency-Key` is documented (docs/openapi.json, components.parameters.
 * IdempotencyKey, and apps/api/src/idempotency.ts) as: "A request that failed having committed
 * nothing frees its key (the client may try again with it); ... when the first committed but its
 * answer was lost, 409 IDEMPOTENCY_KEY_UNCONFIRMED (look the result up)".
 *
 * A request refused by its handler with 403 or 404 commits nothing of its own, but the refusal is
 * audited (AuditDenialsInterceptor → AuditService.recordDenial, its own transaction) inside the
 * idempotency interceptor's request context, and the interceptor's commit hook marks the key as
 * committed. The key is then never freed: a retry with the same key is 409
 * IDEMPOTENCY_KEY_IN_FLIGHT ("still being processed") for the lease's 60 s, and afterwards 409
 * IDEMPOTENCY_KEY_UNCONFIRMED ("was stored but its answer was lost") for 24 hours — telling the
 * client that a refused request (another organisation's bid, an objection withdrawal the practice
 * may not make) may have been carried out.
 */
describe('probe 20: a refused (404) request with an Idempotency-Key', () => {
  let t: TestApp;
  let admin: { Authorization: string };
  beforeAll(async () => {
    t = await createTestApp();
    admin = (await t.as('admin')).auth;
  });
  afterAll(() => t?.close());

  const keyRows = async (key: string) =>
    (await t.sql.query(`SELECT count(*)::int AS n FROM idempotency_keys WHERE key = $1`, [key])).rows[0]
      .n as number;
  /** What 60 seconds later looks like: the first request's lease has run out. */
  const leasePassed = (key: string) =>
    t.sql.query(`UPDATE idempotency_keys SET lease_until = now() - interval '1 second' WHERE key = $1`, [
      key,
    ]);

  it("another organisation's bid: 404, the key is freed, and the same request again is 404 (not 409)", async () => {
    const owner = await t.factory.bid('draft');
    const other = await t.as('researcher');
    const first = await t.http
      .post(`/api/bids/${owner.id}/submit`)
      .set(other.auth)
      .set('Idempotency-Key', 'p20-other-org-submit');
    expect(first.status).toBe(404);
    expect(first.body).toMatchObject({ statusCode: 404, code: 'NOT_FOUND' });

    const problems: string[] = [];
    if ((await keyRows('p20-other-org-submit')) !== 0) problems.push('key still held after a 404');
    const again = await t.http
      .post(`/api/bids/${owner.id}/submit`)
      .set(other.auth)
      .set('Idempotency-Key', 'p20-other-org-submit');
    if (again.status !== 404) problems.push(`retry at once: ${again.status} ${again.body.code}`);
    await leasePassed('p20-other-org-submit');
    const later = await t.http
      .post(`/api/bids/${owner.id}/submit`)
      .set(other.auth)
      .set('Idempotency-Key', 'p20-other-org-submit');
    if (later.status !== 404) problems.push(`retry after the lease: ${later.status} ${later.body.code}`);
    expect(problems).toEqual([]);
  });

  it('a refused objection withdrawal (404) is never reported as "stored but its answer was lost"', async () => {
    const a = await practiceReady(t, admin, 'P20001');
    const b = await practiceReady(t, admin, 'P20002');
    const nhs = nhsNumber(920_001);
    // Practice A registers a Type 2 objection; practice B may not withdraw it (SPEC §2).
    await t.http
      .post('/api/objections')
      .set(a)
      .send({ nhsNumber: nhs, type: 'type2', action: 'register' })
      .expect(201);
    const withdraw = () =>
      t.http
        .post('/api/objections')
        .set(b)
        .set('Idempotency-Key', 'p20-withdraw-1')
        .send({ nhsNumber: nhs, type: 'type2', action: 'withdraw' });
    const first = await withdraw();
    expect(first.status).toBe(404);

    await leasePassed('p20-withdraw-1');
    const retry = await withdraw();
    // Nothing was stored: the retry must be refused as the first was, not told it was stored.
    const { rows } = await t.sql.query(
      `SELECT count(*)::int AS n FROM objection_events WHERE nhs_number = $1 AND action = 'withdraw'`,
      [nhs],
    );
    expect(rows[0].n).toBe(0);
    expect({ status: retry.status, code: retry.body.code }).toEqual({
      status: 404,
      code: first.body.code,
    });
  });

  it('an extract refused whole (422: an objection naming nobody) keeps no key: the retry is refused as the first', async () => {
    const p = await practiceReady(t, admin, 'P20003');
    const body = ndjson([
      patient('q1', nhsNumber(920_011), {}, 'P20003'),
      {
        resourceType: 'Observation',
        id: 'q-o',
        status: 'final',
        subject: { display: 'nobody' },
        code: { coding: [{ system: READ, code: '9Nu0' }] },
      },
    ]);
    const send = () =>
      t.http
        .post('/api/practices/P20003/extracts')
        .set(p)
        .set('Content-Type', 'application/x-ndjson')
        .set('Idempotency-Key', 'p20-extract-1')
        .send(body);
    const first = await send();
    expect(first.status).toBe(422);
    await leasePassed('p20-extract-1');
    const retry = await send();
    expect({ status: retry.status, code: retry.body.code }).toEqual({ status: 422, code: first.body.code });
  });
});
