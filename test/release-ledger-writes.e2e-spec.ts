import { createTestApp, TestApp } from '@custodian/testing';
import { addEvent, addPatient, runRelease, seedPractice, spec } from './release-helpers';

/**
 * The differencing ledger's persons (#27) are written without a check per row (issue #22): a
 * release of a million persons inserts a million ledger rows, and a foreign key's trigger per row
 * cost most of that insert (docs/BENCHMARKS.md). The key's guarantees stay, set-based: a row of a
 * release that does not exist is refused (once per statement), and a release deleted takes its
 * ledger rows with it.
 */
describe('release ledger writes (#22)', () => {
  let t: TestApp;
  let releaseId: string;

  beforeAll(async () => {
    t = await createTestApp();
    const officer = (await t.as('release_officer')).user as never as { id: string; roles: string[] };
    const researcherId = (await t.as('researcher')).user.id;
    await seedPractice(t.sql);
    for (let i = 1; i <= 12; i++)
      await addEvent(t.sql, await addPatient(t.sql, { nhs: String(9700000000 + i) }));
    const done = await runRelease(
      t,
      spec({ recipients: [researcherId], requestedBy: officer.id, tier: 'pseudonymised' }),
      officer,
    );
    expect(done.failure_reason).toBeNull();
    releaseId = done.id;
  });
  afterAll(() => t?.close());

  it('has no trigger per row on the ledger of persons', async () => {
    const { rows } = await t.sql.query(
      `SELECT tgname, tgisinternal FROM pg_trigger
        WHERE tgrelid = 'release_ledger_persons'::regclass AND (tgtype & 1) = 1`,
    );
    expect(rows).toEqual([]);
    const { rows: ledger } = await t.sql.query(
      `SELECT count(*)::int AS n, count(DISTINCT nhs)::int AS distinct_n FROM release_ledger_persons WHERE release_id = $1`,
      [releaseId],
    );
    expect(ledger[0]).toEqual({ n: 12, distinct_n: 12 });
  });

  it('refuses ledger rows of a release that does not exist, inserted or moved', async () => {
    await expect(
      t.sql.query(
        `INSERT INTO release_ledger_persons (release_id, nhs, state) VALUES (gen_random_uuid(), '9700000001', 'released')`,
      ),
    ).rejects.toMatchObject({ code: '23503' });
    await expect(
      t.sql.query(`UPDATE release_ledger_persons SET release_id = gen_random_uuid() WHERE release_id = $1`, [
        releaseId,
      ]),
    ).rejects.toMatchObject({ code: '23503' });
  });

  it('deletes a release’s ledger rows with the release', async () => {
    await t.sql.query(`DELETE FROM releases WHERE id = $1`, [releaseId]);
    const { rows } = await t.sql.query(
      `SELECT count(*)::int AS n FROM release_ledger_persons WHERE release_id = $1`,
      [releaseId],
    );
    expect(rows[0].n).toBe(0);
  });
});
