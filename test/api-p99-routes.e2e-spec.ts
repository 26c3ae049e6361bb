import { PostgresQueryRunner } from 'typeorm/driver/postgres/PostgresQueryRunner';
import { createTestApp, TestApp } from '@custodian/testing';

/**
 * Issue #21, the three routes over 50 ms at 32 connections (docs/BENCHMARKS.md, "API, 2026-12-05
 * (later)"): a bid's events in one set-based query (not a bid read, then entities hydrated); the
 * catalogue in one query, its body kept behind the change feed; the public register's body kept
 * behind the change feed. Answers stay what they were, and a change committed by hand in SQL is
 * visible at the very next request.
 */
describe('the three routes over 50 ms (#21): cheaper at the root, same answers', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  /** The SQL statements the API runs while `fn` runs, those mentioning `table`. */
  async function queriesOn<T>(table: RegExp, fn: () => Promise<T>): Promise<[T, string[]]> {
    const seen: string[] = [];
    const original = PostgresQueryRunner.prototype.query;
    PostgresQueryRunner.prototype.query = function (this: PostgresQueryRunner, ...args: unknown[]) {
      if (typeof args[0] === 'string' && table.test(args[0])) seen.push(args[0]);
      return (original as (...a: unknown[]) => Promise<unknown>).apply(this, args);
    } as typeof original;
    try {
      return [await fn(), seen];
    } finally {
      PostgresQueryRunner.prototype.query = original;
    }
  }

  /**
   * A change committed by another connection reaches this process with its notification, a moment
   * after the commit: reads until `ok` holds (3 s at most) and returns the last read. A cache that
   * never hears of the change still fails: it keeps serving the old answer.
   */
  async function announced<T>(read: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
    const end = Date.now() + 3_000;
    for (;;) {
      const v = await read();
      if (ok(v) || Date.now() > end) return v;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Repeats `fn` until it runs no query on `table` (the listener connects on first use), or fails. */
  async function cachedOn(table: RegExp, fn: () => Promise<unknown>): Promise<void> {
    for (let i = 0; i < 100; i++) {
      const [, seen] = await queriesOn(table, fn);
      if (seen.length === 0) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`still querying ${table}`);
  }

  it("a bid's events: one query, the same events for the applicant and for a reviewer", async () => {
    const bid = await t.factory.bid('approved');
    const panel = await t.as('panel_member');
    const outsider = await t.as('researcher');
    await t.sql.query(
      `UPDATE bid_events SET internal_notes = 'note', details = '{"b": 1, "a": [1, "x"]}' WHERE bid_id = $1`,
      [bid.id],
    );
    const { rows } = await t.sql.query(
      `SELECT id::text, at, action, actor_id, actor_roles, from_state, to_state, remarks, internal_notes, internal, details
         FROM bid_events WHERE bid_id = $1 ORDER BY id`,
      [bid.id],
    );
    expect(rows.some((r) => r.internal)).toBe(true);
    const panelDecision = rows.find((r) => !r.internal && r.actor_roles.includes('panel_member'));
    expect(panelDecision).toBeDefined();
    const expected = (internals: boolean) =>
      rows
        .filter((r) => internals || !r.internal)
        .map((r) => ({
          id: r.id,
          at: (r.at as Date).toISOString(),
          action: r.action,
          ...(!internals && r === panelDecision
            ? { actorId: null, actorRoles: ['panel_member'] }
            : { actorId: r.actor_id, actorRoles: r.actor_roles }),
          fromState: r.from_state,
          toState: r.to_state,
          remarks: r.remarks,
          ...(internals ? { internalNotes: r.internal_notes } : {}),
          details: r.details,
        }));

    for (const [auth, internals] of [
      [bid.researcher.auth, false],
      [panel.auth, true],
    ] as const) {
      const [res, seen] = await queriesOn(/\bbids?\b|bid_events/, () =>
        t.http.get(`/api/bids/${bid.id}/events`).set(auth).expect(200),
      );
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body).toEqual(expected(internals));
      expect(res.text).toBe(JSON.stringify(expected(internals)));
      expect(seen).toHaveLength(1);
    }
    // Scope in the query: another organisation's bid is 404, as is no bid at all.
    await t.http.get(`/api/bids/${bid.id}/events`).set(outsider.auth).expect(404);
    await t.http.get(`/api/bids/${crypto.randomUUID()}/events`).set(panel.auth).expect(404);
  });

  it("a bid's events are kept, and a change by SQL to its events or its bid is seen as soon as it is announced", async () => {
    const bid = await t.factory.bid('approved');
    const panel = await t.as('panel_member');
    const events = (auth: Record<string, string>) =>
      t.http.get(`/api/bids/${bid.id}/events`).set(auth).expect(200);
    const count = async (auth: Record<string, string>) => (await events(auth)).body.length as number;
    await cachedOn(/bid_events/, () => events(bid.researcher.auth));
    await cachedOn(/bid_events/, () => events(panel.auth));
    const [applicantSaw, panelSaw] = [await count(bid.researcher.auth), await count(panel.auth)];

    // An internal event (a vote's kind) that does not touch the bid row: the panel sees it at once.
    await t.sql.query(
      `INSERT INTO bid_events (bid_id, action, internal, details) VALUES ($1, 'vote', true, '{}')`,
      [bid.id],
    );
    expect(
      await announced(
        () => count(panel.auth),
        (n) => n === panelSaw + 1,
      ),
    ).toBe(panelSaw + 1);
    expect(await count(bid.researcher.auth)).toBe(applicantSaw);

    await cachedOn(/bid_events/, () => events(bid.researcher.auth));
    await t.sql.query(`INSERT INTO bid_events (bid_id, action, details) VALUES ($1, 'comment', '{}')`, [
      bid.id,
    ]);
    expect(
      await announced(
        () => count(bid.researcher.auth),
        (n) => n === applicantSaw + 1,
      ),
    ).toBe(applicantSaw + 1);

    // The bid back to never submitted (by hand): no longer a reviewer's to read, at once.
    await cachedOn(/bid_events/, () => events(panel.auth));
    await t.sql.query(`UPDATE bids SET state = 'draft', submitted_at = NULL WHERE id = $1`, [bid.id]);
    const gone = () => t.http.get(`/api/bids/${bid.id}/events`).set(panel.auth);
    expect((await announced(gone, (res) => res.status === 404)).status).toBe(404);
  });

  it('the bids list and a bid: callers missing together share one read (its p99 was the herd at each expiry)', async () => {
    const bid = await t.factory.bid('submitted');
    const auth = bid.researcher.auth;
    // The change feed listening (the cache keeps nothing before), on another page of the list.
    await cachedOn(/\bbids\b/, () => t.http.get('/api/bids?limit=20').set(auth).expect(200));
    for (const path of ['/api/bids?limit=7', `/api/bids/${bid.id}`]) {
      // A page (a bid) never read before: 32 callers at once miss together.
      const [answers, seen] = await queriesOn(/\bbids\b/, () =>
        Promise.all(Array.from({ length: 32 }, () => t.http.get(path).set(auth).expect(200))),
      );
      expect(seen).toHaveLength(1);
      expect(new Set(answers.map((r) => r.text)).size).toBe(1);
    }
    // Another organisation's researcher asking at the same moment shares nothing: their own page
    // (without the bid), and 404 for the bid, while its owner reads it.
    const outsider = await t.as('researcher');
    const [mine, theirs, theirBid, myBid] = await Promise.all([
      t.http.get('/api/bids?limit=9').set(auth).expect(200),
      t.http.get('/api/bids?limit=9').set(outsider.auth).expect(200),
      t.http.get(`/api/bids/${bid.id}`).set(outsider.auth),
      t.http.get(`/api/bids/${bid.id}`).set(auth),
    ]);
    expect(mine.body.items.map((b: { id: string }) => b.id)).toContain(bid.id);
    expect(theirs.body.items.map((b: { id: string }) => b.id)).not.toContain(bid.id);
    expect([theirBid.status, myBid.status]).toEqual([404, 200]);
    // A change by SQL: the next callers read it, not the page read before it.
    await t.sql.query(`UPDATE bids SET title = 'Renamed by hand' WHERE id = $1`, [bid.id]);
    const read = () => t.http.get(`/api/bids/${bid.id}`).set(auth).expect(200);
    expect((await announced(read, (res) => res.body.title === 'Renamed by hand')).body.title).toBe(
      'Renamed by hand',
    );
  });

  it('the catalogue: one query, then kept; a change by SQL is seen as soon as it is announced', async () => {
    const r = await t.as('researcher');
    const get = () => t.http.get('/api/datasets').set(r.auth).expect(200);
    const [first, seen] = await queriesOn(/catalog_/, get);
    expect(seen.length).toBeLessThanOrEqual(1);
    await cachedOn(/catalog_/, get);
    const gp = first.body.datasets.find((d: { id: string }) => d.id === 'gp');
    expect(gp.fields.length).toBeGreaterThan(0);
    expect(gp.columnsByTier.pseudonymised.length).toBeGreaterThan(0);

    await t.sql.query(`UPDATE catalog_datasets SET title = 'Renamed by hand' WHERE id = 'gp'`);
    const title = (res: Awaited<ReturnType<typeof get>>) =>
      res.body.datasets.find((d: { id: string }) => d.id === 'gp').title;
    const after = await announced(get, (res) => title(res) === 'Renamed by hand');
    expect(after.body.datasets.find((d: { id: string }) => d.id === 'gp').title).toBe('Renamed by hand');
    expect({
      ...after.body,
      datasets: after.body.datasets.map((d: object) => ({ ...d, title: '' })),
    }).toEqual({
      ...first.body,
      datasets: first.body.datasets.map((d: object) => ({ ...d, title: '' })),
    });
  });

  it('the public register: kept; a change by SQL to any table it reads is seen as soon as it is announced', async () => {
    const bid = await t.factory.bid('approved');
    const get = () => t.http.get('/api/register').expect(200);
    const line = async () =>
      (await get()).body.find(
        (l: { bidId: string; type: string }) => l.bidId === bid.id && l.type === 'decision',
      );
    expect(await line()).toBeDefined();
    await cachedOn(/register_entries/, get);

    const { rows } = await t.sql.query(`SELECT organisation_id FROM bids WHERE id = $1`, [bid.id]);
    await t.sql.query(`UPDATE organisations SET name = 'Renamed by hand' WHERE id = $1`, [
      rows[0].organisation_id,
    ]);
    expect((await announced(line, (l) => l.organisation === 'Renamed by hand')).organisation).toBe(
      'Renamed by hand',
    );

    await cachedOn(/register_entries/, get);
    await t.sql.query(`UPDATE bids SET title = 'Retitled by hand' WHERE id = $1`, [bid.id]);
    expect((await announced(line, (l) => l.title === 'Retitled by hand')).title).toBe('Retitled by hand');

    await cachedOn(/register_entries/, get);
    await t.sql.query(
      `UPDATE bid_versions SET datasets = '[{"dataset": "hes"}]' WHERE bid_id = $1 AND version = 1`,
      [bid.id],
    );
    const { rows: v } = await t.sql.query(`SELECT count(*)::int AS n FROM bid_versions WHERE bid_id = $1`, [
      bid.id,
    ]);
    if (v[0].n > 0)
      expect((await announced(line, (l) => l.datasets?.[0] === 'hes')).datasets).toEqual(['hes']);

    await cachedOn(/register_entries/, get);
    await t.sql.query(
      `INSERT INTO register_entries (kind, bid_id, release_id, tier, objections_applied, objections_note, details)
       VALUES ('release', $1, gen_random_uuid(), 'pseudonymised', true, NULL, '{"datasets": ["gp"]}')`,
      [bid.id],
    );
    const released = (res: Awaited<ReturnType<typeof get>>) =>
      res.body.some((l: { bidId: string; type: string }) => l.bidId === bid.id && l.type === 'release');
    expect(released(await announced(get, released))).toBe(true);
  });
});
