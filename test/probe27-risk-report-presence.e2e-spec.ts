import { createTestApp, TestApp } from '@custodian/testing';
import {
  addHes,
  addObjection,
  addPatient,
  newLoad,
  otherOrganisationRecipient,
  runRelease,
  seedPractice,
  spec,
} from './release-helpers';

/**
 * Probe 27 (issue #27 "`*` does not mean present"; SPEC §5 step 4 "counts of persons that a
 * researcher sees anywhere (manifest, failure reasons, reports) follow the aggregate rule"; threat
 * 82). The public risk report of a release (`publicRiskReport`, on the public register line and
 * in the recipient's release view) shows the linkage figures of its hospital rows: `0` where no row
 * was linked by a step (or is unlinked), `*` where 1–7 were. At the aggregate tier, whose table
 * rounds one person away, `*` against `0` says whether one person's hospital row was counted — and
 * a Type 1 objector's rows are counted nowhere: anyone reading the register learns whether the one
 * person of the cohort whose episode is not linked to a GP record is a Type 1 objector.
 */
describe('probe 27: the public risk report’s linkage figures tell presence (0 against *)', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[] };
  const ODS = 'K90274';
  const TARGET = '9527400999';

  beforeAll(async () => {
    t = await createTestApp();
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles };
    await seedPractice(t.sql, ODS);
    const load = await newLoad(t.sql, 'hes');
    // 120 GP patients with a linked episode each, and the target: an episode with their NHS number
    // that linkage tied to no GP record (they are registered with no practice here).
    for (let i = 0; i < 120; i++) {
      const nhs = String(9527400000 + i);
      const id = await addPatient(t.sql, { nhs, practice: ODS });
      await addHes(t.sql, load, { nhs, patientId: id });
    }
    await addHes(t.sql, load, { nhs: TARGET, patientId: null });
  });
  afterAll(() => t?.close());

  const table = async () => {
    const r = await otherOrganisationRecipient(t);
    const rel = await runRelease(
      t,
      spec({
        tier: 'aggregate',
        legalBasis: 'none',
        datasets: [{ dataset: 'hes', fields: ['diagnosis_icd10'] }],
        aggregation: { dimensions: [] },
        cohort: {},
        recipients: [r.id],
        requestedBy: officer.id,
      }),
      officer,
    );
    expect(rel.state).toBe('completed');
    const view = (await t.http.get(`/api/releases/${rel.id}`).set(r.auth).expect(200)).body;
    const register = await t.sql.query(`SELECT risk_report FROM releases WHERE id = $1`, [rel.id]);
    expect(register.rows.length).toBe(1);
    return view.riskReport.linkage[0] as {
      rows: unknown;
      unlinked: unknown;
      byStep: Record<string, unknown>;
    };
  };

  it('reads the same whether or not the one unlinked person is a Type 1 objector', async () => {
    const before = await table();
    await addObjection(t.sql, TARGET, 'type1', 'register', { effectiveOn: '2020-01-01' });
    const after = await table();
    // The table itself: 121 or 120 persons, both shown as 120. The report: today `unlinked: '*'`
    // before the objection and `unlinked: 0` after it.
    expect(after).toEqual(before);
  });
});
