import type { Client } from 'pg';
import { createTestDatabase, TestDatabase } from '@custodian/testing';
import { newLoad, seedPractice } from './release-helpers';

/**
 * A release of few persons reads each person's unlinked HES and social-care rows by NHS number
 * (`dataset-sql.ts`, `sourceLookup`). After a Type 1 sweep had unlinked rows in a table whose
 * statistics were taken while every row was linked (too few changes for autovacuum to analyse it
 * again), the planner took `patient_id IS NULL` for one row and scanned every unlinked row once per
 * person through the index by patient: a 1% cohort's shards at 1M patients took 57 s instead of
 * about 1 s (issue #22, target 4; migration 1764000050000). The plan of that lookup, in that state,
 * must find a person's unlinked rows by an index condition on the NHS number.
 */
describe('unlinked source rows are looked up by NHS number whatever the statistics (#22)', () => {
  let db: TestDatabase;
  let sql: Client;
  beforeAll(async () => {
    db = await createTestDatabase();
    sql = await db.superuser();
    await seedPractice(sql);
  });
  afterAll(() => db?.drop());

  it.each([
    ['hes_episodes', 'hes_episodes_unlinked_idx'],
    ['social_care_records', 'social_care_unlinked_idx'],
  ])('%s', async (table, index) => {
    await sql.query(
      `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id)
       SELECT (9500000000 + g)::text, DATE '1960-01-01' + g % 9000, 'F', 'LS1 4AP', 'A', 'A81001', 'u' || g
         FROM generate_series(1, 20000) g ON CONFLICT DO NOTHING`,
    );
    const load = await newLoad(sql, table === 'hes_episodes' ? 'hes' : 'social_care');
    await sql.query(
      table === 'hes_episodes'
        ? `INSERT INTO hes_episodes (epikey, nhs_number, birth_date, sex, postcode, admission_date, load_id, patient_id, linkage_step)
           SELECT 'E' || p.id || '_' || e, p.nhs_number, p.birth_date, p.sex, p.postcode, DATE '2015-01-01' + e, $1, p.id, 1
             FROM patients p CROSS JOIN generate_series(1, 2) e WHERE p.source_id LIKE 'u%'`
        : `INSERT INTO social_care_records (la_code, person_id, nhs_number, birth_date, sex, postcode, service_type, start_date, load_id, patient_id, linkage_step)
           SELECT 'E08000035', 'P' || p.id || '_' || e, p.nhs_number, p.birth_date, p.sex, p.postcode, 'home_care', DATE '2015-01-01' + e, $1, p.id, 1
             FROM patients p CROSS JOIN generate_series(1, 2) e WHERE p.source_id LIKE 'u%'`,
      [load],
    );
    // Statistics of a fully linked table; then a sweep unlinks 1% of the rows.
    await sql.query(`VACUUM ANALYZE ${table}`);
    await sql.query(`UPDATE ${table} SET patient_id = NULL WHERE id % 100 = 0`);
    await sql.query(
      `CREATE TEMP TABLE rp AS SELECT nhs_number AS nhs, id AS patient_id FROM patients
        WHERE source_id LIKE 'u%' AND id % 50 = 0`,
    );
    await sql.query(`ANALYZE rp`);
    const {
      rows: [{ 'QUERY PLAN': plan }],
    } = await sql.query(
      `EXPLAIN (FORMAT JSON)
       SELECT count(*) FROM rp r
        CROSS JOIN LATERAL (SELECT * FROM ${table} l WHERE l.nhs_number = r.nhs AND l.patient_id IS NULL OFFSET 0) s`,
    );
    const scans: { 'Index Name'?: string; 'Index Cond'?: string; 'Relation Name'?: string }[] = [];
    const walk = (n: Record<string, unknown>) => {
      if (n['Relation Name'] === table) scans.push(n);
      for (const c of (n.Plans as Record<string, unknown>[] | undefined) ?? []) walk(c);
    };
    walk(plan[0].Plan);
    expect(scans).toHaveLength(1);
    expect(scans[0]['Index Name']).toBe(index);
    expect(scans[0]['Index Cond']).toMatch(/nhs_number = r\.nhs/);
    await sql.query(`DROP TABLE rp`);
  });
});
