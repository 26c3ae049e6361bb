import { withdrawnType1Among } from '@custodian/objections';
import { createTestApp, TestApp } from '@custodian/testing';

/**
 * The intake forgets the linkage digests of withdrawn Type 1 objectors it stores again (#26). It
 * finds them by looking up each patient of the extract in the objection register by key — not by
 * joining the register's withdrawals as a set: an intake records withdrawals in its own transaction
 * just before, so the planner's statistics can say there are none, and it then scanned the extract
 * once per withdrawal (54 s for 3,000 withdrawals and 100,000 patients, docs/BENCHMARKS.md).
 * Checked by the rows PostgreSQL actually reads (EXPLAIN ANALYZE) with statistics older than the
 * withdrawals.
 */
interface PlanNode {
  'Relation Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  Plans?: PlanNode[];
}
const rowsRead = (n: PlanNode, table: string): number =>
  (n['Relation Name'] === table ? (n['Actual Rows'] ?? 0) * (n['Actual Loops'] ?? 1) : 0) +
  (n.Plans ?? []).reduce((s, c) => s + rowsRead(c, table), 0);

const REGISTERED = 20_000;
const WITHDRAWN = 2_000;
const EXTRACT = 5_000;

describe('intake: withdrawn Type 1 objectors found by key, whatever the statistics say (#26)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
    // Active Type 1 registrations, analysed; then withdrawals the statistics do not know of.
    await t.sql.query(
      `INSERT INTO objection_register (nhs_number, type, active, effective_on, effective_at)
       SELECT '8' || lpad(i::text, 9, '0'), 'type1', true, DATE '2026-01-01', TIMESTAMPTZ '2026-01-01T00:00:00Z'
         FROM generate_series(1, $1::int) i`,
      [REGISTERED],
    );
    await t.sql.query('ANALYZE objection_register');
    await t.sql.query(
      `UPDATE objection_register SET active = false WHERE type = 'type1' AND nhs_number <= '8' || lpad($1::text, 9, '0')`,
      [WITHDRAWN],
    );
    // An extract's patients: every other registered person, a birth date on all but a few.
    await t.sql.query(
      `CREATE TABLE probe_xp AS
      SELECT ('8' || lpad((2 * i)::text, 9, '0'))::char(10) AS nhs_number,
             CASE WHEN i % 100 = 0 THEN NULL ELSE DATE '1970-01-01' END AS birth_date
        FROM generate_series(1, $1::int) i`,
      [EXTRACT],
    );
    await t.sql.query('ANALYZE probe_xp');
  }, 120_000);
  afterAll(async () => {
    await t?.sql.query('DROP TABLE IF EXISTS probe_xp').catch(() => undefined);
    await t?.sql.query(`DELETE FROM objection_register WHERE nhs_number LIKE '8%'`).catch(() => undefined);
    await t?.close();
  });

  it('finds exactly the withdrawn among the extract, reading the extract once and the register only by key', async () => {
    const sql = withdrawnType1Among('probe_xp', 'x.birth_date IS NOT NULL');
    const { rows } = await t.sql.query(`SELECT nhs_number FROM (${sql}) s ORDER BY 1`);
    const { rows: want } = await t.sql.query(
      `SELECT p.nhs_number FROM probe_xp p JOIN objection_register r ON r.nhs_number = p.nhs_number
        WHERE r.type = 'type1' AND NOT r.active AND p.birth_date IS NOT NULL ORDER BY 1`,
    );
    expect(want.length).toBeGreaterThan(900);
    expect(rows).toEqual(want);
    const { rows: plan } = await t.sql.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`);
    const root = (plan[0]['QUERY PLAN'] as { Plan: PlanNode }[])[0].Plan;
    // The extract read once; the register only the withdrawals found (one entry per lookup at most).
    expect(rowsRead(root, 'probe_xp')).toBeLessThanOrEqual(EXTRACT);
    expect(rowsRead(root, 'objection_register')).toBeLessThanOrEqual(want.length);
  });
});
