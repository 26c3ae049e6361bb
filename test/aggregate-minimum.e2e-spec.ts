import { createTestApp, TestApp } from '@custodian/testing';
import { download, parseCsvGz, runRelease, seedGpPopulation, seedPractice, spec } from './release-helpers';

/**
 * SPEC §5 step 5: an aggregate needs a minimum population behind the table and behind each value
 * of each dimension (AGG_MIN_POPULATION, default 100), and ages are top-coded. A cohort of one
 * person made a table of that person's own record (#27).
 */
describe('aggregate tier: a minimum population behind every table, row and column', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[] };
  let researcher: { id: string; auth: Record<string, string> };
  let officerAuth: Record<string, string>;

  beforeAll(async () => {
    t = await createTestApp();
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles };
    officerAuth = o.auth;
    const r = await t.as('researcher');
    researcher = { id: r.user.id, auth: r.auth };
    await seedPractice(t.sql);
    await seedGpPopulation(t.sql, 400, 2);
  });
  afterAll(() => t?.close());

  const aggregate = (cohort: Record<string, unknown>, dimensions: string[]) =>
    runRelease(
      t,
      spec({
        tier: 'aggregate',
        legalBasis: 'none',
        datasets: [{ dataset: 'gp', fields: ['code'] }],
        aggregation: { dimensions: dimensions as never },
        cohort,
        recipients: [researcher.id],
        requestedBy: officer.id,
      }),
      officer,
    );

  it('a cohort of a handful of persons (one year of age) is refused, saying why, and nothing is released', async () => {
    // Three persons of one year of age (the rest were born in 1940-41).
    await t.sql.query(
      `UPDATE patients SET birth_date = DATE '2001-06-15' WHERE id IN (SELECT id FROM patients ORDER BY id LIMIT 3)`,
    );
    const age = await t.sql.query(`SELECT extract(year FROM age(now(), DATE '2001-06-15'))::int AS a`);
    const rel = await aggregate({ ageMin: age.rows[0].a, ageMax: age.rows[0].a }, ['sex', 'year', 'code']);
    expect(rel.state).toBe('failed');
    expect(rel.failure_reason).toMatch(/^AGG_POPULATION_TOO_SMALL/);
    const view = (await t.http.get(`/api/releases/${rel.id}`).set(researcher.auth).expect(200)).body;
    expect(view.files).toEqual([]);
    expect(JSON.stringify(view)).not.toMatch(/\b[1-7] (of|person)/);
    await t.http.get(`/api/releases/${rel.id}`).set(officerAuth).expect(200);
  });

  it('a table whose total is large but one value of a dimension is thin is refused; without that dimension it is released', async () => {
    await t.sql.query(
      `UPDATE patients SET sex = 'M' WHERE id IN (SELECT id FROM patients ORDER BY id LIMIT 30)`,
    );
    const thin = await aggregate({}, ['sex']);
    expect(thin.state).toBe('failed');
    expect(thin.failure_reason).toMatch(/^AGG_POPULATION_TOO_SMALL/);
    const whole = await aggregate({}, []);
    expect(whole.state).toBe('completed');
    const table = parseCsvGz((await download(t, researcher.auth, whole.id, 'aggregate.csv.gz')).body);
    expect(Number(table.rows[0]!.patients)).toBe(400);
    await t.sql.query(`UPDATE patients SET sex = 'F'`);
  });

  it('ages are top-coded at 90+', async () => {
    await t.sql.query(
      `UPDATE patients SET birth_date = now() - interval '97 years' WHERE id IN (SELECT id FROM patients ORDER BY id LIMIT 200)`,
    );
    await t.sql.query(
      `UPDATE patients SET birth_date = now() - interval '95 years' WHERE id IN (SELECT id FROM patients ORDER BY id OFFSET 200)`,
    );
    const rel = await aggregate({}, ['age_band']);
    expect(rel.state).toBe('completed');
    const table = parseCsvGz((await download(t, researcher.auth, rel.id, 'aggregate.csv.gz')).body);
    expect(table.rows.map((r) => r.age_band)).toEqual(['90+']);
  });
});
