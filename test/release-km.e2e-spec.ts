import fc from 'fast-check';
import { createTestApp, TestApp } from '@custodian/testing';
import { generaliseCode, generalisePeriod } from '../libs/release/src/km-anonymity';
import { codeAt, periodAt } from '../libs/release/src/km-anonymity.sql';
import { kmFinding } from './km-check';
import { download, parseCsvGz, runRelease, seedPractice, spec } from './release-helpers';

/**
 * Issue #27, "event histories are quasi-identifiers": an attacker who knows a person's
 * demographics and up to m (ANON_M, default 2) of their events must not single them out of an
 * anonymised release (kᵐ-anonymity over the (code, period) items each person carries).
 */
describe('anonymised tier: kᵐ-anonymity over event items', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[] };
  let researcher: { id: string; auth: Record<string, string> };
  const ODS = 'K90001';
  const PERSONS = 60;

  beforeAll(async () => {
    t = await createTestApp();
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles };
    const r = await t.as('researcher');
    researcher = { id: r.user.id, auth: r.auth };
    await seedPractice(t.sql, ODS);
    // One demographic class of 60 (k-anonymous as it stands); each person has a common event and
    // one Read v2 diagnosis of their own, in a month of their own.
    await t.sql.query(
      `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id)
       SELECT (9500000000 + g)::text, DATE '1970-05-17', 'F', 'LS1 4AP', 'A', $1, g::text
         FROM generate_series(1, $2::int) g`,
      [ODS, PERSONS],
    );
    await t.sql.query(
      `INSERT INTO gp_events (patient_id, practice_ods, resource_type, resource_id, code_system, code, event_date)
       SELECT id, practice_ods, 'condition', 'c', 'snomed', '22298006', DATE '2012-03-04' FROM patients WHERE practice_ods = $1
       UNION ALL
       SELECT id, practice_ods, 'condition', 'r', 'readv2',
              (ARRAY['G', 'H', 'C'])[1 + id % 3] || lpad((id % 97)::text, 2, '0') || '..',
              DATE '2010-01-15' + make_interval(months => (id % 60)::int)
         FROM patients WHERE practice_ods = $1`,
      [ODS],
    );
  });
  afterAll(() => t?.close());

  const release = () =>
    runRelease(
      t,
      spec({
        tier: 'anonymised',
        legalBasis: 'none',
        datasets: [
          {
            dataset: 'gp',
            fields: [
              'nhs_number',
              'date_of_birth',
              'postcode',
              'sex',
              'ethnicity',
              'code_system',
              'code',
              'event_date',
            ],
          },
        ],
        cohort: { practices: [ODS] },
        recipients: [researcher.id],
        requestedBy: officer.id,
      }),
      officer,
    );
  const gpFile = async (id: string) => parseCsvGz((await download(t, researcher.auth, id, 'gp.csv.gz')).body);

  it('no person is singled out by their demographics and up to m=2 of their events, and two releases do not join person to person through event histories', async () => {
    const a = await release();
    expect(a.failure_reason).toBeNull();
    const fa = await gpFile(a.id);
    const finding = kmFinding({ gp: fa }, 10, 2);
    expect(finding.persons).toBeGreaterThan(PERSONS * 0.9);
    expect(finding).toMatchObject({ exposed: 0, uniqueOnOneItem: 0 });

    // A second release of the same bid: persons whose whole event history is unique in their
    // class in both releases join person to person.
    const b = await release();
    const fb = await gpFile(b.id);
    const histories = (f: { rows: Record<string, string>[] }) => {
      const byPerson = new Map<string, string[]>();
      for (const r of f.rows) {
        const h = byPerson.get(r.person_token) ?? [];
        h.push([r.age_band, r.area, r.sex, r.ethnicity, r.code_system, r.code, r.event_date].join('|'));
        byPerson.set(r.person_token, h);
      }
      const count = new Map<string, number>();
      for (const h of byPerson.values()) {
        const key = h.sort().join('#');
        count.set(key, (count.get(key) ?? 0) + 1);
      }
      return count;
    };
    const ha = histories(fa);
    const hb = histories(fb);
    const joined = [...ha.entries()].filter(([h, n]) => n === 1 && hb.get(h) === 1).length;
    expect(joined).toBe(0);

    // The manifest records k, m and the levels chosen.
    const manifest = JSON.parse((await download(t, researcher.auth, a.id, 'manifest.json')).body.toString());
    expect(manifest.kmAnonymity).toMatchObject({ k: 10, m: 2 });
    // Every single Read code and month is rare in the class: codes climb to their chapter and
    // periods to none (rows removed instead would break the 5% cap).
    expect(manifest.kmAnonymity.levels).toEqual([
      { code: 'chapter', period: 'none', classes: 1, rowsSharePercent: 100 },
    ]);
    expect(new Set(fa.rows.map((r) => r.code))).toEqual(new Set(['snomed', 'G', 'H', 'C']));
    expect(new Set(fa.rows.map((r) => r.event_date))).toEqual(new Set(['*']));
  });

  it('the ladders in SQL equal the ladders in TypeScript', async () => {
    const code = fc.oneof(
      fc.record({
        system: fc.constant('readv2'),
        code: fc.stringMatching(/^[A-Z0-9][A-Za-z0-9]{1,4}\.{0,3}$/),
      }),
      fc.record({ system: fc.constant('snomed'), code: fc.stringMatching(/^[1-9][0-9]{5,17}$/) }),
      fc.record({ system: fc.constant('icd10'), code: fc.stringMatching(/^[A-Z][0-9]{2}(\.[0-9X])?$/) }),
      fc.record({ system: fc.constant('opcs4'), code: fc.stringMatching(/^[A-Z][0-9]{2,3}$/) }),
      fc.record({ system: fc.constant('service_type'), code: fc.constantFrom('home_care', 'day_care') }),
    );
    const day = fc.date({ min: new Date('1900-01-01'), max: new Date('2030-12-31'), noInvalidDate: true });
    const cases = fc.sample(fc.record({ c: code, d: day }), 300);
    const sql = [0, 1, 2, 3]
      .map((l) => `${codeAt(l, 'x.system', 'x.code')} AS c${l}`)
      .concat([0, 1, 2].map((l) => `${periodAt(l, 'x.d')} AS p${l}`))
      .join(', ');
    const { rows } = await t.sql.query(
      `SELECT ${sql} FROM ROWS FROM (jsonb_to_recordset($1::jsonb) AS (system text, code text, d date)) WITH ORDINALITY AS x(system, code, d, i) ORDER BY x.i`,
      [JSON.stringify(cases.map(({ c, d }) => ({ ...c, d: d.toISOString().slice(0, 10) })))],
    );
    rows.forEach((r, i) => {
      const { c, d } = cases[i];
      const iso = d.toISOString().slice(0, 10);
      expect([r.c0, r.c1, r.c2, r.c3]).toEqual([0, 1, 2, 3].map((l) => generaliseCode(c.system, c.code, l)));
      expect([r.p0, r.p1, r.p2]).toEqual([0, 1, 2].map((l) => generalisePeriod(iso, l)));
    });
  });
});
