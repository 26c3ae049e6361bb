import { createTestApp, TestApp } from '@custodian/testing';
import { addGpPersons, addObjection, download, runRelease, seedPractice, spec } from './release-helpers';

/**
 * Probe 42 (SPEC §5 step 4: counts of persons a researcher sees anywhere, the manifest included,
 * follow the aggregate rule — 1-7 is `*`, and since review-27 a count read beside others shows 0-7
 * alike). The differencing guard holds back fewer than k new persons (#27), and the manifest told
 * the researcher so: `newPersonsHeldBack: true` where 1 to k-1 persons had become eligible since
 * the bid's last release, `false` where none had. A bid narrowed to a small cohort (a rare code, a
 * practice) thus learnt, release by release, that someone had joined it — here, that its one Type
 * 2 objector had withdrawn — though the files were the same and every count said `*` or 0.
 */
describe('probe 42: the manifest does not say whether new persons were held back', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[] };
  let researcher: { id: string; auth: Record<string, string> };
  const BASE = 9542200000;
  const PERSONS = 30;
  const objector = String(BASE + PERSONS);

  beforeAll(async () => {
    t = await createTestApp();
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles };
    const r = await t.as('researcher');
    researcher = { id: r.user.id, auth: r.auth };
    await seedPractice(t.sql);
    await addGpPersons(t.sql, 1, PERSONS, BASE);
    await addObjection(t.sql, objector, 'type2', 'register', { effectiveOn: '2014-01-01' });
  });
  afterAll(() => t?.close());

  it('a release after one objector withdrew reads as one after no change', async () => {
    const s = spec({
      tier: 'pseudonymised',
      datasets: [{ dataset: 'gp', fields: ['nhs_number', 'code'] }],
      recipients: [researcher.id],
      requestedBy: officer.id,
    });
    const differencing = async () => {
      const rel = await runRelease(t, s, officer);
      expect(rel.failure_reason).toBeNull();
      const res = await download(t, researcher.auth, rel.id, 'manifest.json');
      // Which release it was compared with, and how many earlier ones (fix 37), differ by release
      // whatever happened: what the researcher already knows.
      const {
        comparedWith: _ignored,
        earlierReleasesCompared: _earlier,
        ...rest
      } = JSON.parse(res.body.toString('utf8')).differencing;
      return rest;
    };
    await differencing();
    const unchanged = await differencing();
    await addObjection(t.sql, objector, 'type2', 'withdraw', { effectiveOn: '2015-01-01' });
    const afterWithdrawal = await differencing();
    // The withdrawn objector is held back (fewer than k new): the files are the same, and so must
    // be what the manifest says of them.
    expect(afterWithdrawal).toEqual(unchanged);
    // Staff still read it exactly.
    const { rows } = await t.sql.query(
      `SELECT excluded FROM releases WHERE bid_id = $1 ORDER BY created_at DESC LIMIT 1`,
      [s.bidId],
    );
    expect(JSON.stringify(rows[0].excluded)).toMatch(/"heldBack":1/);
  });
});
