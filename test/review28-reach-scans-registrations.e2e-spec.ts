import { EntityManager } from 'typeorm';
import { createTestApp, TestApp } from '@custodian/testing';
import { condition, NHS, ndjson, nhsNumber, objection, patient, READ } from './support/fhir';
import { practiceReady, upload } from './support/practice';

/**
 * Review 28, finding 5 (performance; the intake's cost must stay linear in the extract: the intake
 * benchmark's 100,000 Patients × 8 resources). Two statements of 7353dd4 (intake/subjects.ts) pay,
 * per objection entry, for the whole practice or the whole extract:
 *
 * - `reach` joins `patient_registrations` to a small CTE `ids` under `r.practice_ods = $1`; in
 *   some plans the planner reads every registration of the practice by the index's first column
 *   (Bitmap Heap Scan) and hash-joins `ids`, once per registration: registrations × the practice's
 *   patients (seen in a probe; not asserted: the plan varies with the statistics).
 * - The withdrawals' INSERT checks `NOT EXISTS (SELECT 1 FROM subj x WHERE x.line = s.line …)` with
 *   no index on `subj`: a Seq Scan of `subj` (every clinical entry of the extract) per withdrawal by
 *   reference: withdrawals × entries (800,000 entries in the benchmark's shape).
 *
 * The test reads the plans (EXPLAIN ANALYZE in a savepoint, rolled back, then the statement runs as
 * usual) on a small extract: 2,000 patients held, 200 registrations, 50 withdrawals by reference.
 */
describe('review28: per-entry scans of the practice registrations and of subj', () => {
  let t: TestApp;
  let a: { Authorization: string };
  let b: { Authorization: string };
  const original = EntityManager.prototype.query;
  let on = false;
  const scans: { statement: string; rel: string; loops: number; rowsPerLoop: number }[] = [];
  beforeAll(async () => {
    t = await createTestApp();
    const admin = (await t.as('admin')).auth;
    a = await practiceReady(t, admin, 'A81001');
    b = await practiceReady(t, admin, 'B82002');
    EntityManager.prototype.query = async function (this: EntityManager, sql: string, params?: unknown[]) {
      if (on && typeof sql === 'string' && /^\s*INSERT INTO subj|CREATE TEMP TABLE t1x/.test(sql)) {
        await original.call(this, 'SAVEPOINT review28');
        const [row] = (await original.call(this, `EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, params)) as Record<
          string,
          unknown
        >[];
        await original.call(this, 'ROLLBACK TO SAVEPOINT review28');
        const statement = sql.includes('wref')
          ? 'withdrawals'
          : sql.includes('t1x')
            ? 't1x'
            : 'registrations';
        const walk = (n: Record<string, unknown>) => {
          const rel = n['Relation Name'] as string | undefined;
          const loops = n['Actual Loops'] as number;
          if (rel && loops > 1 && /Scan/.test(n['Node Type'] as string))
            scans.push({
              statement,
              rel,
              loops,
              rowsPerLoop:
                (n['Actual Rows'] as number) + ((n['Rows Removed by Filter'] as number | undefined) ?? 0),
            });
          for (const c of (n.Plans as Record<string, unknown>[] | undefined) ?? []) walk(c);
        };
        walk((row['QUERY PLAN'] as { Plan: Record<string, unknown> }[])[0].Plan);
      }
      return original.call(this, sql, params);
    } as typeof original;
  });
  afterAll(async () => {
    EntityManager.prototype.query = original;
    await t?.close();
  });

  it('2,000 patients, 400 registrations, 50 withdrawals: no scan per entry grows with the practice or the extract', async () => {
    const N = 2000;
    const lines: unknown[] = [];
    for (let i = 0; i < N; i++)
      lines.push(patient(`p${i}`, nhsNumber(28_300 + i)), condition(`c${i}`, `p${i}`));
    await upload(t, b, 'B82002', ndjson(lines)).expect(201);
    await upload(t, a, 'A81001', ndjson(lines)).expect(201);
    for (let i = 0; i < 200; i++)
      lines.push(objection(`r${i}`, `p${i * 9 + 3}`, '9Nu4', '2020-01-01T10:00:00Z'));
    for (let i = 0; i < 200; i++)
      lines.push({
        resourceType: 'Observation',
        id: `o${i}`,
        subject: { identifier: { system: NHS, value: nhsNumber(28_300 + i * 7) } },
        code: { coding: [{ system: READ, code: i % 4 ? '9Nu4' : '9Nu0' }] },
        effectiveDateTime: '2020-01-01T10:00:00Z',
      });
    for (let i = 0; i < 50; i++)
      lines.push(objection(`w${i}`, `p${i * 11 + 1}`, '9Nu5', '2021-01-01T10:00:00Z'));
    on = true;
    await upload(t, a, 'A81001', ndjson(lines)).expect(201);
    on = false;
    const big = scans.filter((s) => s.rowsPerLoop > 50);
    // Today: the withdrawals read subj at ~2,400 rows a loop, 50 loops (the whole of subj each
    // time). The registrations' plan of patient_registrations varies: a probe with 3,000 patients
    // at two practices read every registration of the practice (3,000 rows) in each of 600 loops.
    expect(big).toEqual([]);
  }, 180_000);
});
