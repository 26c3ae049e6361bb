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

  it('persons whose every event kᵐ removes are counted, and the verifier audits the file with them absent', async () => {
    // Another practice: one class of 100 who share an event, and 2 of the same demographics whose
    // only event is a code of their own (rare at every level but the top, which the cap does not
    // need: 2 rows of 102 are within 5%). kᵐ takes those 2 rows, so the 2 persons are absent.
    const ods = 'K90002';
    await seedPractice(t.sql, ods);
    await t.sql.query(
      `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id)
       SELECT (9510000000 + g)::text, DATE '1970-05-17', 'F', 'LS1 4AP', 'A', $1, 'e' || g
         FROM generate_series(1, 102) g`,
      [ods],
    );
    await t.sql.query(
      `INSERT INTO gp_events (patient_id, practice_ods, resource_type, resource_id, code_system, code, event_date)
       SELECT id, practice_ods, 'condition', 'c', 'snomed',
              CASE nhs_number WHEN '9510000101' THEN '71620000' WHEN '9510000102' THEN '84114007' ELSE '22298006' END,
              CASE WHEN nhs_number IN ('9510000101', '9510000102') THEN DATE '2011-07-09' ELSE DATE '2012-03-04' END
         FROM patients WHERE practice_ods = $1`,
      [ods],
    );
    const rel = await runRelease(
      t,
      spec({
        tier: 'anonymised',
        legalBasis: 'none',
        datasets: [{ dataset: 'gp', fields: ['nhs_number', 'date_of_birth', 'sex', 'code', 'event_date'] }],
        cohort: { practices: [ods] },
        recipients: [researcher.id],
        requestedBy: officer.id,
      }),
      officer,
    );
    expect(rel).toMatchObject({ state: 'completed', failure_reason: null });
    const { rows } = await t.sql.query(
      `SELECT excluded -> 'kmAnonymity' AS km, manifest -> 'verification' -> 'checks' AS checks FROM releases WHERE id = $1`,
      [rel.id],
    );
    expect(rows[0].km.suppressedByFile).toEqual({ gp: 2 });
    expect(rows[0].km.emptiedByFile).toEqual({ gp: 2 });
    const persons = new Set((await gpFile(rel.id)).rows.map((r) => r.person_token));
    expect(persons.size).toBe(100);
    // Audited with the 2 absent as recorded (without them counted, 2 of 102 absent against none
    // recorded is a binomial tail of 0: the release would fail verification).
    expect((rows[0].checks as string[]).join('\n')).toMatch(/suppression audited/);
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
