import { createTestApp, TestApp } from '@custodian/testing';
import { download, parseCsvGz, runRelease, seedPractice, spec } from './release-helpers';

/**
 * Probe 27 (issue #27: kᵐ-anonymity generalises periods "year-month → year → none", and "rows
 * carry no person grouping by their order", SPEC §5 step 5). An anonymised per-event file with
 * `person_token` lists each person's rows in the order of their true event dates (`ORDER BY
 * rp.okey, rp.pid, <date>, x.id`, release-sql.ts), also when kᵐ-anonymity took the dates away
 * (`*`). The row order gives back what the period ladder removed: which of a person's events came
 * first — a sequence an attacker who knows "diagnosed with X, later Y" matches on.
 */
describe('probe 27: the row order within a person tells the dates kᵐ-anonymity removed', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[] };
  let researcher: { id: string; auth: Record<string, string> };
  const ODS = 'K90272';
  const PERSONS = 60;

  beforeAll(async () => {
    t = await createTestApp();
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles };
    const r = await t.as('researcher');
    researcher = { id: r.user.id, auth: r.auth };
    await seedPractice(t.sql, ODS);
    // One demographic class of 60. Each person has a Read v2 diagnosis in a month of their own
    // (rare, so the period climbs to `*`) and a common SNOMED event (2012-03-04). Chapter G
    // diagnoses are all before it (2005-2009), chapter H ones all after it (2015-2019), chapter C
    // ones either. The chapter stays visible, so the test knows, for each person of G and H, which
    // event really came first.
    await t.sql.query(
      `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id)
       SELECT (9527200000 + g)::text, DATE '1970-05-17', 'F', 'LS1 4AP', 'A', $1, g::text
         FROM generate_series(1, $2::int) g`,
      [ODS, PERSONS],
    );
    await t.sql.query(
      `WITH p AS (SELECT id, practice_ods, row_number() OVER (ORDER BY nhs_number)::int AS g FROM patients WHERE practice_ods = $1)
       INSERT INTO gp_events (patient_id, practice_ods, resource_type, resource_id, code_system, code, event_date)
       SELECT id, practice_ods, 'condition', 'c' || g, 'snomed', '22298006', DATE '2012-03-04' FROM p
       UNION ALL
       SELECT id, practice_ods, 'condition', 'r' || g, 'readv2',
              (ARRAY['G', 'H', 'C'])[1 + g % 3] || lpad((g % 97)::text, 2, '0') || '..',
              (CASE g % 3 WHEN 0 THEN DATE '2005-01-15' WHEN 1 THEN DATE '2015-01-15' ELSE DATE '2005-01-15' + make_interval(years => 10 * (g % 2)) END) + make_interval(months => g - 1)
         FROM p`,
      [ODS],
    );
  });
  afterAll(() => t?.close());

  it('with the dates generalised to *, the order of a person’s rows does not follow their dates', async () => {
    const a = await runRelease(
      t,
      spec({
        tier: 'anonymised',
        legalBasis: 'none',
        datasets: [
          {
            dataset: 'gp',
            fields: ['nhs_number', 'date_of_birth', 'postcode', 'sex', 'code_system', 'code', 'event_date'],
          },
        ],
        cohort: { practices: [ODS] },
        recipients: [researcher.id],
        requestedBy: officer.id,
      }),
      officer,
    );
    expect(a.failure_reason).toBeNull(); // the verifier passed it
    const f = parseCsvGz((await download(t, researcher.auth, a.id, 'gp.csv.gz')).body);
    // kᵐ-anonymity took the periods away.
    expect(new Set(f.rows.map((r) => r.event_date))).toEqual(new Set(['*']));
    const byPerson = new Map<string, Record<string, string>[]>();
    for (const r of f.rows) byPerson.set(r.person_token, [...(byPerson.get(r.person_token) ?? []), r]);
    const people = [...byPerson.values()];
    expect(people.length).toBeGreaterThan(PERSONS * 0.9);
    // For the 40 persons of chapters G and H, whether the file lists the Read diagnosis first agrees
    // with whether it was first in time. A row order that carries no dates agrees for about half of
    // them (all 40 by chance: 2^-40).
    let known = 0;
    let agree = 0;
    for (const rows of people) {
      const read = rows.find((r) => r.code_system === 'readv2');
      if (!read || rows.length !== 2 || (read.code !== 'G' && read.code !== 'H')) continue;
      known++;
      const listedFirst = rows[0].code_system === 'readv2';
      if (listedFirst === (read.code === 'G')) agree++;
    }
    expect(known).toBeGreaterThan(35);
    // Today: 40 of 40 — the order is the dates' order.
    expect(agree).toBeLessThan(known);
  });
});
