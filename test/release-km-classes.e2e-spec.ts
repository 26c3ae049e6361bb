import { createTestApp, TestApp } from '@custodian/testing';
import { kmFinding } from './km-check';
import {
  addEvent,
  addHes,
  addPatient,
  download,
  newLoad,
  parseCsvGz,
  runRelease,
  seedPractice,
  spec,
} from './release-helpers';

/**
 * A person's kᵐ class is what their files show (docs/RELEASE.md, "A person's class is what their
 * files show"). Persons with a hospital episode and no GP record appear only in the HES file, which
 * shows no area: an attacker cannot place them in an area, so they are not counted with the GP
 * patients of the district their hospital record names. The engine counted them there (by the
 * district of their HES row), kept the episode's month because 17 persons carried it, and the
 * verifier, which sees two classes (12 with an area and 5 without), failed the release.
 */
describe('anonymised tier: kᵐ classes follow what the files show', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[] };
  let researcher: { id: string; auth: Record<string, string> };

  beforeAll(async () => {
    t = await createTestApp();
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles };
    const r = await t.as('researcher');
    researcher = { id: r.user.id, auth: r.auth };
    await seedPractice(t.sql);
    const hes = await newLoad(t.sql, 'hes');
    // Twelve GP patients of one class (district LS2), each with one event and one linked episode.
    for (let i = 0; i < 12; i++) {
      const nhs = String(9_400_000_000 + i);
      const id = await addPatient(t.sql, { nhs, postcode: 'LS2 9JT', birth: '1970-05-17', sex: 'F' });
      await addEvent(t.sql, id, '22298006', '2012-03-04');
      await addHes(t.sql, hes, { nhs, patientId: id, date: '2013-03-10' });
    }
    // Five persons with an episode in the same month and no GP record; their HES rows name the same
    // district (addHes: LS2 9JT), birth date and sex.
    for (let i = 0; i < 5; i++)
      await addHes(t.sql, hes, { nhs: String(9_400_000_100 + i), date: '2013-03-12' });
  });
  afterAll(() => t?.close());

  it('hospital-only persons are a class apart from the GP patients of their district: the release is verified and no set of ≤ m items is carried by fewer than k persons of a class', async () => {
    const rel = await runRelease(
      t,
      spec({
        tier: 'anonymised',
        legalBasis: 'none',
        datasets: [
          { dataset: 'gp', fields: ['nhs_number', 'date_of_birth', 'postcode', 'sex', 'code', 'event_date'] },
          { dataset: 'hes', fields: ['nhs_number', 'date_of_birth', 'sex', 'admission_date'] },
        ],
        recipients: [researcher.id],
        requestedBy: officer.id,
      }),
      officer,
    );
    expect(rel.failure_reason).toBeNull();
    expect(rel.state).toBe('completed');
    const gp = parseCsvGz((await download(t, researcher.auth, rel.id, 'gp.csv.gz')).body);
    const hes = parseCsvGz((await download(t, researcher.auth, rel.id, 'hes.csv.gz')).body);
    expect(hes.rows.length).toBeGreaterThan(0);
    expect(kmFinding({ gp, hes }, 10, 2).exposed).toBe(0);
    // Not vacuous: the hospital-only persons are in the file, each once, without an area.
    const gpTokens = new Set(gp.rows.map((r) => r.person_token));
    expect(new Set(hes.rows.map((r) => r.person_token).filter((x) => !gpTokens.has(x))).size).toBe(5);
  });
});
