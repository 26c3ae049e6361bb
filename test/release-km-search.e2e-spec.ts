import fc from 'fast-check';
import { createTestApp, TestApp } from '@custodian/testing';
import { KM_SEARCH } from '../libs/release/src/km-anonymise';
import { KM_CLASS_LIMITS } from '../libs/release/src/km-search';
import { kmFinding } from './km-check';
import {
  download,
  newLoad,
  parseCsvGz,
  releaseRuns,
  runRelease,
  seedPractice,
  spec,
} from './release-helpers';

/**
 * Issues #27 and #19 (time): the kᵐ stage searches class by class in the worker (km-search.ts),
 * from the persons' tuples read once in class order, instead of in SQL. That is a change of speed
 * only: on random populations the release must choose the same levels per class and remove the
 * same rows as the search in SQL that counts every node in order and every pair
 * (`KM_SEARCH.reference`, the first version's search), report the same figures, and write the
 * same files but for the person tokens.
 */
describe('anonymised tier: the kᵐ search class by class equals the search in SQL', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[] };
  let researcher: { id: string; auth: Record<string, string> };
  let practice = 0;
  const DEFAULTS = { ...KM_CLASS_LIMITS };

  beforeAll(async () => {
    t = await createTestApp();
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles };
    const r = await t.as('researcher');
    researcher = { id: r.user.id, auth: r.auth };
  });
  afterAll(() => {
    KM_SEARCH.reference = false;
    Object.assign(KM_CLASS_LIMITS, DEFAULTS);
    return t?.close();
  });

  // Codes of skewed frequency (common first), over a few systems with and without a hierarchy.
  const CODES: [string, string][] = [
    ['snomed', '22298006'],
    ['readv2', 'G30..'],
    ['readv2', 'H33..'],
    ['snomed', '44054006'],
    ['readv2', 'G301.'],
    ['readv2', 'C10E.'],
    ['snomed', '195967001'],
    ['readv2', 'H330.'],
  ];
  const person = fc.record({
    birthYear: fc.integer({ min: 1950, max: 1959 }),
    female: fc.boolean(),
    postcode: fc.constantFrom('LS1 4AP', 'LS2 9JT', 'LS6 2AA'),
    events: fc.array(
      fc.record({
        // Skew: the first codes common, the last rare ((15 - 2c) in 64).
        code: fc.integer({ min: 0, max: 63 }).map((x) => 7 - Math.floor(Math.sqrt(x))),
        month: fc.integer({ min: 0, max: 23 }),
      }),
      { minLength: 1, maxLength: 4 },
    ),
  });

  const fileRows = async (id: string, name: string) => {
    const f = parseCsvGz((await download(t, researcher.auth, id, name)).body);
    return {
      file: f,
      rows: f.rows
        .map((r) =>
          f.header
            .filter((h) => h !== 'person_token')
            .map((h) => r[h])
            .join(','),
        )
        .sort(),
    };
  };
  const kmOf = async (id: string) => {
    const { rows } = await t.sql.query(`SELECT excluded -> 'kmAnonymity' AS km FROM releases WHERE id = $1`, [
      id,
    ]);
    const km = rows[0].km as Record<string, unknown> | null;
    if (!km) return km;
    const { passes: _p, classesInSql: _s, ...rest } = km;
    return rest;
  };

  it('property: same levels per class, same rows removed, same files (but tokens) on random populations', async () => {
    let split = 0;
    let runs = 0;
    let twoFiles = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(person, { minLength: 150, maxLength: 500 }),
        fc.boolean(),
        fc.boolean(),
        async (people, small, wide) => {
          // Every other run has a HES file too.
          const withHes = ++runs % 2 === 0;
          const ods = `K9${String(++practice).padStart(4, '0')}`;
          await seedPractice(t.sql, ods);
          await t.sql.query(
            `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id)
           SELECT (9400000000 + $2::int * 1000 + p.i)::text, make_date(p.y, 6, 15), p.s, p.pc, 'A', $1, p.i::text
             FROM jsonb_to_recordset($3::jsonb) AS p(i int, y int, s text, pc text)`,
            [
              ods,
              practice,
              JSON.stringify(
                people.map((p, i) => ({ i, y: p.birthYear, s: p.female ? 'F' : 'M', pc: p.postcode })),
              ),
            ],
          );
          await t.sql.query(
            `INSERT INTO gp_events (patient_id, practice_ods, resource_type, resource_id, code_system, code, event_date)
           SELECT pt.id, $1, 'condition', 'e' || e.i, e.sys, e.code, DATE '2020-01-10' + make_interval(months => e.m)
             FROM jsonb_to_recordset($2::jsonb) AS e(i int, p int, sys text, code text, m int)
             JOIN patients pt ON pt.practice_ods = $1 AND pt.source_id = e.p::text`,
            [
              ods,
              JSON.stringify(
                people.flatMap((p, pi) =>
                  p.events.map((e, ei) => ({
                    i: ei,
                    p: pi,
                    sys: CODES[e.code][0],
                    code: CODES[e.code][1],
                    m: e.month,
                  })),
                ),
              ),
            ],
          );
          // A HES file too (every other run): every third person has an episode (persons in two files,
          // items of two datasets in one class).
          if (withHes)
            await t.sql.query(
              `INSERT INTO hes_episodes (epikey, nhs_number, birth_date, sex, postcode, admission_date,
                                         diagnosis_icd10, provider_code, load_id, patient_id, linkage_step)
               SELECT substr(md5(p.id::text), 1, 20), p.nhs_number, p.birth_date, p.sex, p.postcode,
                      DATE '2020-02-01' + make_interval(months => (p.source_id::int * 7) % 18),
                      (ARRAY['I63.9', 'I10', 'E11.9', 'J45.0'])[1 + p.source_id::int % 4], 'RR8', $2, p.id, 1
                 FROM patients p WHERE p.practice_ods = $1 AND p.source_id::int % 3 = 0`,
              [ods, await newLoad(t.sql, 'hes')],
            );
          const s = spec({
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
                  'code_system',
                  'code',
                  'event_date',
                ],
              },
              ...(withHes
                ? [
                    {
                      dataset: 'hes' as const,
                      fields: [
                        'nhs_number',
                        'date_of_birth',
                        'sex',
                        'postcode',
                        'admission_date',
                        'diagnosis_icd10',
                      ],
                    },
                  ]
                : []),
            ],
            cohort: { practices: [ods] },
            recipients: [researcher.id],
            requestedBy: officer.id,
          });
          KM_SEARCH.reference = false;
          // Now and then the worker's limit on a class is low: the classes over it are searched in
          // SQL, the others in the worker, in the same release.
          KM_CLASS_LIMITS.rows = small ? 100 : DEFAULTS.rows;
          // And now and then the rows carry every node's item instead of their tuple.
          KM_CLASS_LIMITS.map = wide ? 0 : DEFAULTS.map;
          const a = await runRelease(t, s, officer);
          Object.assign(KM_CLASS_LIMITS, DEFAULTS);
          KM_SEARCH.reference = true;
          const b = await runRelease(t, s, officer);
          KM_SEARCH.reference = false;
          expect(a.state).toBe(b.state);
          expect(a.failure_reason).toBe(b.failure_reason);
          const { rows: inSql } = await t.sql.query(
            `SELECT (excluded -> 'kmAnonymity' ->> 'classesInSql')::int AS n FROM releases WHERE id = $1`,
            [a.id],
          );
          if (inSql[0]?.n > 0 && small) split++;
          const [ka, kb] = [await kmOf(a.id), await kmOf(b.id)];
          expect(ka).toEqual(kb);
          if (a.state !== 'completed') return;
          const [fa, fb] = [await fileRows(a.id, 'gp.csv.gz'), await fileRows(b.id, 'gp.csv.gz')];
          expect(fa.rows).toEqual(fb.rows);
          if (!withHes) {
            expect(kmFinding({ gp: fa.file }, 10, 2).exposed).toBe(0);
            return;
          }
          const [ha, hb] = [await fileRows(a.id, 'hes.csv.gz'), await fileRows(b.id, 'hes.csv.gz')];
          expect(ha.rows).toEqual(hb.rows);
          expect(kmFinding({ gp: fa.file, hes: ha.file }, 10, 2).exposed).toBe(0);
          twoFiles++;
        },
      ),
      releaseRuns(8),
    );
    // What only a whole release can compare happened: both searches in one release, and two files.
    // (Which nodes classes take, and rows removed, vary with the population: compared whenever they
    // occur here, and on 300 random class sets against the definition in km-search.spec.ts.)
    // Some release had classes searched in SQL and in the worker; some had two files.
    expect(split).toBeGreaterThan(0);
    expect(twoFiles).toBeGreaterThan(0);
  }, 300_000);
});
