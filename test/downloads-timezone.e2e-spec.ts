import { DataSource } from 'typeorm';
import { createTestApp, TestApp } from '@custodian/testing';
import { addEvent, addPatient, download, runRelease, seedPractice, spec } from './release-helpers';

/**
 * Agreements run on UTC dates; downloads must compare them with the UTC date whatever the database
 * session's time zone is (SECURITY.md). The zone is chosen so that its date differs from UTC's now.
 */
describe('downloads: agreement dates compared in UTC, whatever the database time zone', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  it('an agreement in force by the UTC date stays downloadable under a database zone a day away', async () => {
    const officer = await t.as('release_officer');
    const researcher = await t.as('researcher');
    await seedPractice(t.sql);
    const pid = await addPatient(t.sql, { nhs: '9000000019' });
    await addEvent(t.sql, pid);
    const s = spec({ recipients: [researcher.user.id], requestedBy: officer.user.id });
    const rel = await runRelease(t, s, { id: officer.user.id, roles: officer.user.roles });
    expect(rel.state).toBe('completed');

    const now = new Date();
    const today = now.toISOString().slice(0, 10);
    const dayOffset = (d: string, n: number) =>
      new Date(Date.parse(`${d}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
    // Late in the UTC day, UTC+14's date is tomorrow; early, UTC-12's is yesterday.
    const east = now.getUTCHours() >= 10;
    const zone = east ? 'Etc/GMT-14' : 'Etc/GMT+12';
    // In force by the UTC date; not by the zone's: ends tomorrow (east) or starts today (west).
    await t.sql.query(
      east
        ? `UPDATE agreements SET start_date = $2::date - 30, end_date = $2::date + 1 WHERE bid_id = $1`
        : `UPDATE agreements SET start_date = $2::date, end_date = $2::date + 30 WHERE bid_id = $1`,
      [s.bidId, today],
    );
    const { rows } = await t.sql.query(`SELECT current_database() AS db`);
    await t.sql.query(`ALTER DATABASE "${rows[0].db}" SET timezone TO '${zone}'`);
    // New sessions take the zone: the app's pool reconnects.
    const ds = t.app.get(DataSource);
    await ds.destroy();
    await ds.initialize();
    const [{ local }] = await ds.query(`SELECT current_date::text AS local`);
    expect(local).toBe(dayOffset(today, east ? 1 : -1));

    const res = await download(t, researcher.auth, rel.id, 'gp.csv.gz');
    expect(res.status).toBe(200);
  });
});
