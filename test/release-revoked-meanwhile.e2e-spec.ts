import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource, QueryRunner } from 'typeorm';
import { ReleaseService } from '@custodian/release';
import { createTestApp, TestApp } from '@custodian/testing';
import {
  addEvent,
  addPatient,
  ensureActiveBid,
  otherOrganisationRecipient,
  seedPractice,
  spec,
  waitForRelease,
} from './release-helpers';

/**
 * A release whose agreement ends while it runs fails, with no ready notice and no register line.
 * - An outsider's probe (2026-12-07) revoked a bid 1.5 s after asking for a release: the release
 *   completed after the revocation, its recipient was told it was ready, and the public register
 *   listed it (its files were destroyed just after). The completion now reads the bid under a share
 *   lock and fails the release when the agreement ended first.
 * - Probe 36: a release running when its agreement's end date came (the last day over; the expiry
 *   sweep, every five minutes, not yet run) completed: the completion checked the bid's state and the
 *   agreement version, not the end date. SPEC §5: files only while the agreement is active.
 * Each change is held open here with the bid's row lock (as `revoke` takes it) until the completion
 * waits on it, then committed.
 */
describe('a release whose agreement ends while it runs', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[] };

  beforeAll(async () => {
    t = await createTestApp();
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles };
    await seedPractice(t.sql);
    for (let i = 0; i < 12; i++)
      await addEvent(t.sql, await addPatient(t.sql, { nhs: String(9_400_000_100 + i) }));
  });
  afterAll(() => t?.close());

  /**
   * Asks for a release of a new bid, holds the bid's row until the release's completion waits on it,
   * makes `change` in that transaction and commits; then checks the release failed, told nobody and
   * put no line on the register. The bid's id and the release's failure reason.
   */
  async function endWhileCompleting(change: (held: QueryRunner, bidId: string) => Promise<void>) {
    const researcher = await otherOrganisationRecipient(t);
    const s = spec({ recipients: [researcher.id], requestedBy: officer.id });
    await ensureActiveBid(t, s);
    const db = t.app.get<DataSource>(getDataSourceToken());
    const { id } = await t.app.get(ReleaseService).request(s, officer as never);
    const held = db.createQueryRunner();
    await held.connect();
    await held.startTransaction();
    try {
      await held.query(`SELECT id FROM bids WHERE id = $1 FOR UPDATE`, [s.bidId]);
      // The completion waits on the bid's lock.
      for (let i = 0; ; i++) {
        const { rows } = await t.sql.query(
          `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'SELECT state FROM bids WHERE id = $1 FOR SHARE%'`,
        );
        if (rows.length) break;
        const { rows: r } = await t.sql.query(`SELECT state FROM releases WHERE id = $1`, [id]);
        expect(r[0].state, 'the release finished before the bid was held').not.toMatch(/completed|failed/);
        if (i > 600) throw new Error('the completion never waited on the bid');
        await new Promise((res) => setTimeout(res, 50));
      }
      await change(held, s.bidId);
      await held.commitTransaction();
    } finally {
      if (held.isTransactionActive) await held.rollbackTransaction();
      await held.release();
    }
    const rel = await waitForRelease(t, id);
    expect(rel.state).toBe('failed');
    const { rows: register } = await t.sql.query(
      `SELECT (SELECT count(*)::int FROM register_log WHERE release_id = $1) AS log,
              (SELECT count(*)::int FROM register_entries WHERE release_id = $1) AS lines`,
      [id],
    );
    expect(register[0]).toEqual({ log: 0, lines: 0 });
    const { rows: notices } = await t.sql.query(
      `SELECT count(*)::int AS n FROM notifications WHERE kind = 'release.ready' AND subject_id = $1`,
      [id],
    );
    expect(notices[0].n).toBe(0);
    return { bidId: s.bidId, reason: rel.failure_reason };
  }

  it('fails, with no ready notice and no register line, when the revocation commits first', async () => {
    const { reason } = await endWhileCompleting((held, bidId) =>
      held.query(`UPDATE bids SET state = 'revoked' WHERE id = $1`, [bidId]),
    );
    expect(reason).toMatch(/agreement ended while the release ran \(the bid is revoked\)/);
  });

  it('fails likewise when the end date comes, though the sweep has not expired the bid yet (probe 36)', async () => {
    // The last day of the term is over: the end date is today (the agreement ends on it).
    const { bidId, reason } = await endWhileCompleting((held, id) =>
      held.query(
        `UPDATE agreements SET end_date = (now() AT TIME ZONE 'UTC')::date WHERE bid_id = $1 AND status = 'active'`,
        [id],
      ),
    );
    const { rows: bid } = await t.sql.query(`SELECT state FROM bids WHERE id = $1`, [bidId]);
    expect(bid[0].state).toBe('active');
    expect(reason).toMatch(/agreement ended while the release ran/);
  });
});
