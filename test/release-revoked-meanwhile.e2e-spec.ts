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
 * An outsider's probe (2026-12-07) revoked a bid 1.5 s after asking for a release: the release
 * completed after the revocation, its recipient was told it was ready, and the public register
 * listed it (its files were destroyed just after). The completion now reads the bid under a share
 * lock and fails the release when the agreement ended first. The revocation is held open here with
 * the bid's row lock (as `revoke` takes it) until the completion waits on it, then committed.
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

  it('fails, with no ready notice and no register line, when the revocation commits first', async () => {
    const researcher = await otherOrganisationRecipient(t);
    const s = spec({ recipients: [researcher.id], requestedBy: officer.id });
    await ensureActiveBid(t, s);
    const db = t.app.get<DataSource>(getDataSourceToken());
    const { id } = await t.app.get(ReleaseService).request(s, officer as never);
    const revocation = db.createQueryRunner();
    await revocation.connect();
    await revocation.startTransaction();
    try {
      await revocation.query(`SELECT id FROM bids WHERE id = $1 FOR UPDATE`, [s.bidId]);
      // The completion waits on the bid's lock.
      for (let i = 0; ; i++) {
        const { rows } = await t.sql.query(
          `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'SELECT state FROM bids WHERE id = $1 FOR SHARE%'`,
        );
        if (rows.length) break;
        const { rows: r } = await t.sql.query(`SELECT state FROM releases WHERE id = $1`, [id]);
        expect(r[0].state, 'the release finished before the revocation held the bid').not.toMatch(
          /completed|failed/,
        );
        if (i > 600) throw new Error('the completion never waited on the bid');
        await new Promise((res) => setTimeout(res, 50));
      }
      await revocation.query(`UPDATE bids SET state = 'revoked' WHERE id = $1`, [s.bidId]);
      await revocation.commitTransaction();
    } finally {
      if (revocation.isTransactionActive) await revocation.rollbackTransaction();
      await revocation.release();
    }
    const rel = await waitForRelease(t, id);
    expect(rel.state).toBe('failed');
    expect(rel.failure_reason).toMatch(/agreement ended while the release ran \(the bid is revoked\)/);
    const { rows: register } = await t.sql.query(
      `SELECT count(*)::int AS n FROM register_log WHERE release_id = $1`,
      [id],
    );
    expect(register[0].n).toBe(0);
    const { rows: notices } = await t.sql.query(
      `SELECT count(*)::int AS n FROM notifications WHERE kind = 'release.ready' AND subject_id = $1`,
      [id],
    );
    expect(notices[0].n).toBe(0);
  });
});
