import { createTestApp, TestApp } from '@custodian/testing';
import { addEvent, addPatient, runRelease, seedPractice, spec } from './release-helpers';

/**
 * The differencing ledger's persons (#27) are sets, not rows (migration 1764000049000): a release
 * of a million persons inserted a million ledger rows (5.4 s of a 28 s anonymised release, and
 * 70 MB each; docs/BENCHMARKS.md); now a release writes at most 128 rows (released and withheld,
 * 64 parts of the NHS numbers), arrays of NHS numbers as numbers. The key's guarantees stay: a row
 * of a release that does not exist is refused, and a release deleted takes its ledger with it.
 */
describe('release ledger writes (#22, #19)', () => {
  let t: TestApp;
  let releaseId: string;
  let officer: { id: string; roles: string[] };
  let researcherId: string;

  beforeAll(async () => {
    t = await createTestApp();
    officer = (await t.as('release_officer')).user as never as { id: string; roles: string[] };
    researcherId = (await t.as('researcher')).user.id;
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

  it('holds each person once, in a few rows whatever the release’s size', async () => {
    const { rows } = await t.sql.query(
      `SELECT count(*)::int AS parts, sum(cardinality(nhs))::int AS n,
              count(DISTINCT state)::int AS states,
              bool_and(NOT EXISTS (SELECT 1 FROM unnest(nhs) x WHERE x % 64 <> part)) AS parted
         FROM release_ledger_members WHERE release_id = $1`,
      [releaseId],
    );
    expect(rows[0]).toMatchObject({ n: 12, states: 1, parted: true });
    expect(rows[0].parts).toBeLessThanOrEqual(12);
    const { rows: people } = await t.sql.query(
      `SELECT u.n::text AS nhs FROM release_ledger_members m CROSS JOIN LATERAL unnest(m.nhs) AS u(n)
        WHERE m.release_id = $1 AND m.state = 'released' ORDER BY 1`,
      [releaseId],
    );
    expect(people.map((r: { nhs: string }) => r.nhs)).toEqual(
      Array.from({ length: 12 }, (_, i) => String(9700000001 + i)),
    );
  });

  it('carries a withheld number the migration kept as negative into the next release, in its part (a review)', async () => {
    const s = spec({ recipients: [researcherId], requestedBy: officer.id, tier: 'pseudonymised' });
    const first = await runRelease(t, s, officer);
    expect(first.failure_reason).toBeNull();
    // As migration 1764000049000 keeps a damaged number: negative, in part ((n % 64) + 64) % 64.
    await t.sql.query(
      `INSERT INTO release_ledger_members (release_id, state, part, nhs)
       VALUES ($1, 'withheld', ((-123 % 64) + 64) % 64, ARRAY[-123]::bigint[])`,
      [first.id],
    );
    const second = await runRelease(t, { ...s }, officer);
    expect(second.failure_reason).toBeNull();
    const { rows } = await t.sql.query(
      `SELECT state, part FROM release_ledger_members WHERE release_id = $1 AND -123 = ANY(nhs)`,
      [second.id],
    );
    expect(rows).toEqual([{ state: 'withheld', part: 5 }]);
  });

  it('stops a record-level release when an NHS number in the data is not ten digits, naming nobody', async () => {
    // Only a damaged database holds one (the loaders refuse them); the guard could not follow it.
    const id = await addPatient(t.sql, { nhs: '97000X0099' });
    await addEvent(t.sql, id);
    try {
      const officer = (await t.as('release_officer')).user as never as { id: string; roles: string[] };
      const done = await runRelease(
        t,
        spec({
          recipients: [(await t.as('researcher')).user.id],
          requestedBy: officer.id,
          tier: 'pseudonymised',
        }),
        officer,
      );
      expect(done.state).toBe('failed');
      expect(done.failure_reason).toMatch(/NHS number that is not ten digits/);
      expect(JSON.stringify(done)).not.toContain('97000X0099');
    } finally {
      await t.sql.query(`DELETE FROM gp_events WHERE patient_id = $1`, [id]);
      await t.sql.query(`DELETE FROM patients WHERE id = $1`, [id]);
    }
  });

  it('refuses ledger rows of a release that does not exist, inserted or moved', async () => {
    await expect(
      t.sql.query(
        `INSERT INTO release_ledger_members (release_id, state, part, nhs) VALUES (gen_random_uuid(), 'released', 1, '{9700000001}')`,
      ),
    ).rejects.toMatchObject({ code: '23503' });
    await expect(
      t.sql.query(`UPDATE release_ledger_members SET release_id = gen_random_uuid() WHERE release_id = $1`, [
        releaseId,
      ]),
    ).rejects.toMatchObject({ code: '23503' });
  });

  it('deletes a release’s ledger rows with the release', async () => {
    await t.sql.query(`DELETE FROM releases WHERE id = $1`, [releaseId]);
    const { rows } = await t.sql.query(
      `SELECT count(*)::int AS n FROM release_ledger_members WHERE release_id = $1`,
      [releaseId],
    );
    expect(rows[0].n).toBe(0);
  });
});
