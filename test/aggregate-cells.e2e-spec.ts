import { createTestApp, TestApp } from '@custodian/testing';
import { ReleaseService } from '@custodian/release';
import {
  download,
  ensureActiveBid,
  otherOrganisationRecipient,
  parseCsvGz,
  runRelease,
  seedGpPopulation,
  seedPractice,
  spec,
  waitForRelease,
} from './release-helpers';

/**
 * SPEC §5 step 5, #27: `*` must not mean "someone is here". A table showed only its non-empty
 * cells, so a `*` row was a person: a cohort holding one person with dimensions [sex, year, code]
 * gave, as rows of `*`, exactly the 9 year/code pairs of that patient. The table now has every
 * cell of the cross-product of the dimensions' values present in the population, and an empty
 * cell is shown as `*` like 1–7.
 */
describe('aggregate tier: every cell of the cross-product, `*` never means present', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[] };
  const YEARS = ['2010', '2011', '2012'];
  const CODES = ['1001', '1002', '1003'];
  let target: string;

  beforeAll(async () => {
    t = await createTestApp();
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles };
    await seedPractice(t.sql);
    await seedGpPopulation(t.sql, 600, 0);
    // Half the persons are men; each person has one event whose code and year go together
    // (code i only in year i), so only the diagonal year/code pairs hold anyone.
    await t.sql.query(
      `UPDATE patients SET sex = 'M' WHERE id IN (SELECT id FROM patients ORDER BY nhs_number LIMIT 300)`,
    );
    await t.sql.query(
      `INSERT INTO gp_events (patient_id, practice_ods, resource_type, resource_id, code_system, code, event_date)
       SELECT p.id, p.practice_ods, 'condition', 'c' || p.nhs_number, 'snomed',
              (1001 + (p.nhs_number::bigint % 3))::text, make_date(2010 + (p.nhs_number::bigint % 3)::int, 6, 1)
         FROM patients p`,
    );
    // The target: a woman who also has every off-diagonal year/code pair (six more pairs, 9 in all).
    const { rows } = await t.sql.query(`SELECT id FROM patients WHERE sex = 'F' ORDER BY nhs_number LIMIT 1`);
    target = rows[0].id;
  });
  afterAll(() => t?.close());

  // Each table to its own organisation: two tables to one are compared by the differencing guard
  // (#25), which would hide the cells that differ — here the point is that none appears.
  const table = async () => {
    const researcher = await otherOrganisationRecipient(t);
    const rel = await runRelease(
      t,
      spec({
        tier: 'aggregate',
        legalBasis: 'none',
        datasets: [{ dataset: 'gp', fields: ['code'] }],
        aggregation: { dimensions: ['sex', 'year', 'code'] },
        recipients: [researcher.id],
        requestedBy: officer.id,
      }),
      officer,
    );
    expect(rel.failure_reason).toBeNull();
    expect(rel.state).toBe('completed');
    const body = (await download(t, researcher.auth, rel.id, 'aggregate.csv.gz')).body as Buffer;
    return { body, ...parseCsvGz(body) };
  };

  it("one person's 9 year/code pairs: the table is the full cross-product, byte for byte the same with or without them", async () => {
    const without = await table();
    await t.sql.query(
      `INSERT INTO gp_events (patient_id, practice_ods, resource_type, resource_id, code_system, code, event_date)
       SELECT p.id, p.practice_ods, 'condition', 'x' || y || c, 'snomed', c::text, make_date(y, 3, 1)
         FROM patients p, generate_series(2010, 2012) y, generate_series(1001, 1003) c WHERE p.id = $1`,
      [target],
    );
    const withPairs = await table();
    const keys = (rows: Record<string, string>[]) => rows.map((r) => `${r.sex}|${r.year}|${r.code}`).sort();
    const product = ['F', 'M']
      .flatMap((s) => YEARS.flatMap((y) => CODES.map((c) => `${s}|${y}|${c}`)))
      .sort();
    expect(keys(withPairs.rows)).toEqual(product);
    expect(keys(without.rows)).toEqual(product);
    // The off-diagonal cells are `*` whether they hold the target or nobody.
    for (const r of without.rows.concat(withPairs.rows))
      if (YEARS.indexOf(r.year) !== CODES.indexOf(r.code)) expect(r.patients).toBe('*');
    expect(withPairs.body.equals(without.body)).toBe(true);
  });

  it('a consent cohort of one NHS number, held or not, gives the same table (no membership oracle)', async () => {
    const consent = async (nhs: string) => {
      const researcher = await otherOrganisationRecipient(t);
      const s = spec({
        tier: 'aggregate',
        legalBasis: 'consent',
        consentCohort: true,
        datasets: [{ dataset: 'gp', fields: ['code'] }],
        aggregation: { dimensions: ['sex', 'year', 'code'] },
        recipients: [researcher.id],
        requestedBy: officer.id,
      });
      await ensureActiveBid(t, s);
      await t.sql.query(`INSERT INTO bid_cohort_members (bid_id, nhs_number) VALUES ($1, $2)`, [
        s.bidId,
        nhs,
      ]);
      const { id } = await t.app.get(ReleaseService).request(s, officer as never);
      return { ...(await waitForRelease(t, id)), researcher };
    };
    const held = await consent('9400000001');
    const notHeld = await consent('9434765919');
    expect([held.state, notHeld.state]).toEqual(['completed', 'completed']);
    const a = (await download(t, held.researcher.auth, held.id, 'aggregate.csv.gz')).body as Buffer;
    const b = (await download(t, notHeld.researcher.auth, notHeld.id, 'aggregate.csv.gz')).body as Buffer;
    expect(a.equals(b)).toBe(true);
  });
});
