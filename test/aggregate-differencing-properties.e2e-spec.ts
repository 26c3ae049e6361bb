import fc from 'fast-check';
import { createTestApp, TestApp } from '@custodian/testing';
import {
  download,
  otherOrganisationRecipient,
  parseCsvGz,
  releaseRuns,
  runRelease,
  seedPractice,
  spec,
} from './release-helpers';

/**
 * Issue #25, the aggregate differencing guard as a property, through the real engine (few runs:
 * each is three whole releases). Random populations at three practices — many persons at the
 * first, a handful at the second and third — and three aggregate releases to one organisation with
 * the same random dimensions and nested cohorts (practice A; A and B; A, B and C). For any two of
 * the tables: no cell shown in both, and no row, column or total shown whole in both, differs by
 * 1-7 persons in exact counts (known from the model). A table may be refused (AGG_DIFFERENCING, or
 * too small a population); what is released obeys the rule.
 */
const AGES = [32, 42, 52];
const band = (age: number) => `${age - (age % 5)}-${age - (age % 5) + 4}`;
const person = (practice: string) =>
  fc.record({
    practice: fc.constant(practice),
    sex: fc.constantFrom('F', 'M'),
    age: fc.constantFrom(...AGES),
  });
const population = fc
  .tuple(
    fc.array(person('A81001'), { minLength: 150, maxLength: 300 }),
    fc.array(person('A81002'), { minLength: 1, maxLength: 12 }),
    fc.array(person('A81003'), { minLength: 1, maxLength: 12 }),
  )
  .map(([a, b, c]) => [...a, ...b, ...c]);
const dimensions = fc.constantFrom<('sex' | 'age_band')[]>(['sex'], ['age_band'], ['sex', 'age_band']);

describe('aggregate differencing guard over random nested cohorts (property, #25)', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[] };

  beforeAll(async () => {
    t = await createTestApp({ AGG_MIN_POPULATION: '30' });
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles };
    for (const p of ['A81001', 'A81002', 'A81003']) await seedPractice(t.sql, p);
  });
  afterAll(() => t?.close());

  it('no cell or margin shown in two tables to one organisation differs by 1-7 persons', async () => {
    const seen = { released: 0, hidden: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(population, dimensions, async (people, dims) => {
        await t.sql.query(`TRUNCATE gp_events, patients RESTART IDENTITY CASCADE`);
        const rows = people.map((p, i) => ({ ...p, nhs: String(9_400_000_000 + i) }));
        await t.sql.query(
          `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id)
           SELECT nhs, (current_date - make_interval(years => age, months => 6))::date, sex, 'LS1 4AP', 'A', practice, nhs
             FROM jsonb_to_recordset($1::jsonb) AS x(nhs text, sex text, age int, practice text)`,
          [JSON.stringify(rows)],
        );
        await t.sql.query(
          `INSERT INTO gp_events (patient_id, practice_ods, resource_type, resource_id, code_system, code, event_date)
           SELECT id, practice_ods, 'condition', 'c' || nhs_number, 'snomed', '22298006', DATE '2012-03-04' FROM patients`,
        );
        const researcher = await otherOrganisationRecipient(t);
        const cohorts = [['A81001'], ['A81001', 'A81002'], ['A81001', 'A81002', 'A81003']];
        const tables: { cohort: string[]; rows: Record<string, string>[] }[] = [];
        for (const practices of cohorts) {
          const rel = await runRelease(
            t,
            spec({
              tier: 'aggregate',
              legalBasis: 'none',
              datasets: [{ dataset: 'gp', fields: ['code'] }],
              aggregation: { dimensions: dims },
              cohort: { practices },
              recipients: [researcher.id],
              requestedBy: officer.id,
            }),
            officer,
          );
          if (rel.state === 'failed') {
            expect(rel.failure_reason).toMatch(/^(AGG_DIFFERENCING|AGG_POPULATION_TOO_SMALL): /);
            if (rel.failure_reason!.startsWith('AGG_DIFFERENCING')) seen.refused++;
            continue;
          }
          seen.released++;
          const rows = parseCsvGz((await download(t, researcher.auth, rel.id, 'aggregate.csv.gz')).body).rows;
          tables.push({ cohort: practices, rows });
        }
        // The model's exact count of a cell (or, with values left out, of a margin's cells summed).
        const exact = (cohort: string[], r: Record<string, string>) =>
          people.filter(
            (p) =>
              cohort.includes(p.practice) &&
              (!dims.includes('sex') || p.sex === r.sex) &&
              (!dims.includes('age_band') || band(p.age) === r.age_band),
          ).length;
        const figures = (x: (typeof tables)[number]) => {
          const out = new Map<string, { n: number; shown: boolean }>();
          const add = (k: string, n: number, shown: boolean) => {
            const f = out.get(k) ?? { n: 0, shown: true };
            out.set(k, { n: f.n + n, shown: f.shown && shown });
          };
          for (const r of x.rows) {
            const n = exact(x.cohort, r);
            const shown = r.patients !== '*';
            if (!shown) seen.hidden++;
            add(`cell ${dims.map((d) => r[d]).join('|')}`, n, shown);
            add('total', n, shown);
            for (const d of dims)
              add(`${d} varying, ${dims.map((e) => (e === d ? '' : r[e])).join('|')}`, n, shown);
          }
          return out;
        };
        for (let i = 0; i < tables.length; i++)
          for (let j = i + 1; j < tables.length; j++) {
            const a = figures(tables[i]);
            for (const [k, y] of figures(tables[j])) {
              const x = a.get(k);
              if (!x || !x.shown || !y.shown) continue;
              const d = Math.abs(x.n - y.n);
              expect(d === 0 || d > 7, `${k}: ${x.n} vs ${y.n}`).toBe(true);
            }
          }
      }),
      // No shrinking: each run is three releases (a failure is reported with its counterexample).
      releaseRuns(8),
    );
    // Not vacuous: tables were released, and some cells hidden or some tables refused.
    expect(seen.released).toBeGreaterThan(0);
    expect(seen.hidden + seen.refused).toBeGreaterThan(0);
  }, 300_000);
});
