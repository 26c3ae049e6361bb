import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
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
 * Probe 36: a release running when its agreement's end date comes (the last day ends; the expiry
 * sweep, every five minutes, has not yet moved the bid to `expired`) completed. The completion
 * checked the bid's state and the agreement version, not the end date: the recipients were told the
 * release was ready, and the public register listed a release made after the agreement ended (whose
 * files no download could read: downloads do check the date). SPEC §5: files only while the
 * agreement is active. As in test/release-revoked-meanwhile, the bid's row lock is held until the
 * completion waits on it; here the agreement's end date is reached meanwhile, the bid left active.
 */
describe('a release whose agreement reaches its end date while it runs', () => {
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

  it('fails, with no ready notice and no register line, though the sweep has not expired the bid yet', async () => {
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
      // The last day of the term is over: the end date is today (the agreement ends on it).
      await held.query(
        `UPDATE agreements SET end_date = (now() AT TIME ZONE 'UTC')::date WHERE bid_id = $1 AND status = 'active'`,
        [s.bidId],
      );
      await held.commitTransaction();
    } finally {
      if (held.isTransactionActive) await held.rollbackTransaction();
      await held.release();
    }
    const rel = await waitForRelease(t, id);
    const { rows: bid } = await t.sql.query(`SELECT state FROM bids WHERE id = $1`, [s.bidId]);
    expect(bid[0].state).toBe('active');
    expect(rel.state).toBe('failed');
    expect(rel.failure_reason).toMatch(/agreement ended while the release ran/);
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
  });
});
