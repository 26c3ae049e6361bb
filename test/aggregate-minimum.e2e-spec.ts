import { createTestApp, TestApp } from '@custodian/testing';
import {
  addEvent,
  addPatient,
  download,
  otherOrganisationRecipient,
  parseCsvGz,
  runRelease,
  seedGpPopulation,
  seedPractice,
  spec,
} from './release-helpers';

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

  it('a value of a dimension with too few persons is left out of the table, never a refusal; staff read which, the recipient only the rule', async () => {
    // Refusing the table told whether one person held a thin value (review-27): now left out.
    await t.sql.query(
      `UPDATE patients SET sex = 'M' WHERE id IN (SELECT id FROM patients ORDER BY id LIMIT 30)`,
    );
    const thin = await aggregate({}, ['sex']);
    expect(thin.state).toBe('completed');
    const table = parseCsvGz((await download(t, researcher.auth, thin.id, 'aggregate.csv.gz')).body);
    expect(table.rows).toEqual([{ sex: 'F', patients: '370' }]);
    const dictionary = (await download(t, researcher.auth, thin.id, 'data_dictionary.csv')).body.toString();
    expect(dictionary).toMatch(/a value with fewer is left out/);
    const staff = (await t.http.get(`/api/releases/${thin.id}`).set(officerAuth).expect(200)).body;
    expect(staff.excluded.aggregateValuesLeftOut).toEqual({ sex: ['M'] });
    const view = (await t.http.get(`/api/releases/${thin.id}`).set(researcher.auth).expect(200)).body;
    expect(JSON.stringify(view)).not.toMatch(/aggregateValuesLeftOut|"M"/);
    // Without the dimension, everybody.
    const whole = await aggregate({}, []);
    expect(whole.state).toBe('completed');
    const total = parseCsvGz((await download(t, researcher.auth, whole.id, 'aggregate.csv.gz')).body);
    expect(Number(total.rows[0]!.patients)).toBe(400);
    await t.sql.query(`UPDATE patients SET sex = 'F'`);
  });

  it('a value left out in one dimension can leave a value of another under its minimum: that one is left out too', async () => {
    // In 2019 (no other test's events): code A for 120 F; code B for 20 M and 95 of those F.
    // Round 1: M (20) is under 100, B (115) over 114 whatever its margin. Without M's events, B
    // has 95 persons: left out too. The table: F × A, 120.
    await t.sql.query(`UPDATE patients SET sex = 'F'`);
    const { rows } = await t.sql.query(`SELECT id FROM patients ORDER BY id LIMIT 140`);
    const ids = rows.map((r) => r.id as string);
    await t.sql.query(`UPDATE patients SET sex = 'M' WHERE id = ANY($1)`, [ids.slice(0, 20)]);
    for (const id of ids.slice(0, 115)) await addEvent(t.sql, id, '44054006', '2019-05-05');
    for (const id of ids.slice(20, 140)) await addEvent(t.sql, id, '22298006', '2019-06-06');
    try {
      const rel = await aggregate({ eventsFrom: '2019-01-01', eventsTo: '2019-12-31' }, ['sex', 'code']);
      expect(rel).toMatchObject({ state: 'completed', failure_reason: null });
      const table = parseCsvGz((await download(t, researcher.auth, rel.id, 'aggregate.csv.gz')).body);
      expect(table.rows).toEqual([{ sex: 'F', code: '22298006', patients: '120' }]);
      const staff = (await t.http.get(`/api/releases/${rel.id}`).set(officerAuth).expect(200)).body;
      expect(staff.excluded.aggregateValuesLeftOut).toEqual({ sex: ['M'], code: ['44054006'] });
    } finally {
      await t.sql.query(`DELETE FROM gp_events WHERE event_date IN (DATE '2019-05-05', DATE '2019-06-06')`);
      await t.sql.query(`UPDATE patients SET sex = 'F'`);
    }
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

  it('the minimum has a keyed margin: 107 persons are released for some bids and refused for others, each bid always the same, the refusal showing no count (probe 27)', async () => {
    // A practice of its own, 107 persons: inside [AGG_MIN_POPULATION, + 14]. An exact threshold
    // gave every bid the same answer, so one person at 99 + 1 decided it (probe 27).
    const ods = 'K90274';
    await seedPractice(t.sql, ods);
    for (let i = 0; i < 107; i++)
      await addEvent(t.sql, await addPatient(t.sql, { nhs: String(9527400000 + i), practice: ods }));
    const ask = async () => {
      const r = await otherOrganisationRecipient(t);
      const asked = spec({
        tier: 'aggregate',
        legalBasis: 'none',
        datasets: [{ dataset: 'gp', fields: ['code'] }],
        aggregation: { dimensions: [] },
        cohort: { practices: [ods] },
        recipients: [r.id],
        requestedBy: officer.id,
      });
      return { spec: asked, rel: await runRelease(t, asked, officer), auth: r.auth };
    };
    // 16 bids: all alike by chance (8/15)^16 + (7/15)^16, under 1 in 20,000.
    const bids = [];
    for (let i = 0; i < 16; i++) bids.push(await ask());
    const refused = bids.find((b) => b.rel.state === 'failed');
    const released = bids.find((b) => b.rel.state === 'completed');
    expect(refused).toBeDefined();
    expect(released).toBeDefined();
    // Asked again, each bid meets the same threshold (no re-roll to average over).
    for (const b of [refused!, released!]) {
      const again = await runRelease(t, b.spec, officer);
      expect(again.state).toBe(b.rel.state);
    }
    // The researcher reads why, without the count or the bid's threshold.
    const view = (await t.http.get(`/api/releases/${refused!.rel.id}`).set(refused!.auth).expect(200)).body;
    expect(view.failureReason).toMatch(/^AGG_POPULATION_TOO_SMALL: /);
    expect(view.failureReason).not.toMatch(/\b(10[1-9]|11[0-4])\b/);
    expect(view.files).toEqual([]);
    // Staff read the exact count.
    const staff = (await t.http.get(`/api/releases/${refused!.rel.id}`).set(officerAuth).expect(200)).body;
    expect(staff.failureReason).toMatch(/has 107 persons behind it/);
  });
});
