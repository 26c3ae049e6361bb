import { PostgresQueryRunner } from 'typeorm/driver/postgres/PostgresQueryRunner';
import { createTestApp, TestApp } from '@custodian/testing';

/**
 * Issue #21: the bid reads kept behind the change feed (`GET /api/bids/:id`, `GET /api/bids`) embed
 * rows of other tables — the applicant organisation's name and kind (`organisations`) and the
 * pending amendment (`bid_versions`). A change to those, committed elsewhere (another process, or
 * SQL by hand), is visible once its notification arrives (milliseconds), not `CACHE_SECONDS` later.
 */
describe('bid reads embed the organisation and the pending amendment: a change to either is seen at once', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  /** Repeats `fn` until the API answers it without reading `bids` (kept), or fails. */
  async function cached(fn: () => Promise<unknown>): Promise<void> {
    for (let i = 0; i < 100; i++) {
      let read = false;
      const original = PostgresQueryRunner.prototype.query;
      PostgresQueryRunner.prototype.query = function (this: PostgresQueryRunner, ...args: unknown[]) {
        if (typeof args[0] === 'string' && /\bbids\b/.test(args[0])) read = true;
        return (original as (...a: unknown[]) => Promise<unknown>).apply(this, args);
      } as typeof original;
      try {
        await fn();
      } finally {
        PostgresQueryRunner.prototype.query = original;
      }
      if (!read) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('the bid read is not kept');
  }

  /**
   * `read` until `ok` holds, for at most 3 s: a change committed elsewhere reaches this process's
   * cache with its notification, milliseconds after the commit (docs/ARCHITECTURE.md, Change feed);
   * a cache that missed it would serve the old value for `CACHE_SECONDS` (10).
   */
  async function soon<T>(read: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
    const until = Date.now() + 3000;
    for (;;) {
      const v = await read();
      if (ok(v) || Date.now() > until) return v;
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  it('renaming the applicant organisation shows in the bid and the list at once', async () => {
    const bid = await t.factory.bid('submitted');
    const one = () => t.http.get(`/api/bids/${bid.id}`).set(bid.researcher.auth).expect(200);
    const list = () => t.http.get('/api/bids').set(bid.researcher.auth).expect(200);
    const listed = async () =>
      (await list()).body.items.find((b: { id: string }) => b.id === bid.id).organisation.name as string;
    await cached(one);
    await cached(list);
    const before = (await one()).body.organisation;

    const { rows } = await t.sql.query(`SELECT organisation_id FROM bids WHERE id = $1`, [bid.id]);
    await t.sql.query(
      `UPDATE organisations SET name = 'Renamed University', kind = 'commercial' WHERE id = $1`,
      [rows[0].organisation_id],
    );
    const renamed = (o: { name: string }) => o.name === 'Renamed University';
    const after = await soon(async () => (await one()).body.organisation, renamed);
    expect(before.name).not.toBe('Renamed University');
    expect(after).toMatchObject({ name: 'Renamed University', kind: 'commercial', commercial: true });
    expect(await soon(listed, (n) => n === 'Renamed University')).toBe('Renamed University');
  });

  it('a change to the pending amendment shows in the bid at once', async () => {
    const bid = await t.factory.bid('active');
    const created = await t.http
      .post(`/api/bids/${bid.id}/amendments`)
      .set(bid.researcher.auth)
      .send({ reason: 'A shorter term', durationMonths: 6 })
      .expect(201);
    const one = () => t.http.get(`/api/bids/${bid.id}`).set(bid.researcher.auth).expect(200);
    await cached(one);
    expect((await one()).body.pendingAmendment).toBeNull();

    await t.sql.query(
      `UPDATE bid_versions SET state = 'submitted', submitted_at = now() WHERE bid_id = $1 AND version = $2`,
      [bid.id, created.body.version],
    );
    const pending = await soon(
      async () => (await one()).body.pendingAmendment,
      (p) => p !== null,
    );
    expect(pending).toMatchObject({
      version: created.body.version,
      state: 'submitted',
    });
  });
});
