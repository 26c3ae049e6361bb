import { performance } from 'node:perf_hooks';
import { AUDIT_HASHES_SQL, CHECKPOINT_HEADS_SQL } from '@custodian/register';
import { createTestApp, TestApp } from '@custodian/testing';

/**
 * The public, unauthenticated reads of the register (#24) stay cheap however long the audit
 * chain grows: `GET /api/register/checkpoint` takes the chain's length from its head row (not a
 * count of the log) and `GET /api/register/audit-hashes` seeks to a position through an index (not
 * OFFSET). Checked on a log of 100,000 entries, with a gap in the ids (a rolled-back append), by
 * the rows PostgreSQL actually reads from `audit_log` (EXPLAIN ANALYZE), and by the answers.
 */
const ENTRIES = 100_000;

interface PlanNode {
  'Relation Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  Plans?: PlanNode[];
}
const rowsRead = (n: PlanNode): number =>
  (n['Relation Name'] === 'audit_log' ? (n['Actual Rows'] ?? 0) * (n['Actual Loops'] ?? 1) : 0) +
  (n.Plans ?? []).reduce((s, c) => s + rowsRead(c), 0);

describe('register: cheap public reads on a long audit chain (#24)', () => {
  let t: TestApp;
  const explain = async (sql: string, params: unknown[] = []) => {
    const { rows } = await t.sql.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, params);
    return rowsRead((rows[0]['QUERY PLAN'] as { Plan: PlanNode }[])[0].Plan);
  };
  const bulk = (n: number, tag: string) =>
    t.sql.query(
      `INSERT INTO audit_log (at, actor_roles, action, outcome, subject_type, subject_id, details, prev_hash, hash)
       SELECT now(), '{admin}', 'test.bulk', 'success', 'test', $2 || i, '{}',
              lpad(to_hex(i), 64, '0'), encode(sha256(($2 || i)::bytea), 'hex')
         FROM generate_series(1, $1::int) i ORDER BY i`,
      [n, tag],
    );

  beforeAll(async () => {
    t = await createTestApp();
    await bulk(ENTRIES / 2, 'a');
    // A rolled-back append leaves a gap in the ids: positions are not ids.
    await t.sql.query('BEGIN');
    await bulk(10, 'gone');
    await t.sql.query('ROLLBACK');
    await bulk(ENTRIES / 2, 'b');
  }, 120_000);
  afterAll(() => t?.close());

  it('answers the checkpoint and any position of the chain correctly', async () => {
    const { rows } = await t.sql.query(
      `SELECT count(*)::int AS n, (SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1) AS head FROM audit_log`,
    );
    const cp = (await t.http.get('/api/register/checkpoint').expect(200)).body;
    expect(cp.auditLength).toBe(rows[0].n);
    expect(cp.auditHead).toBe(rows[0].head);
    for (const from of [1, ENTRIES / 2, ENTRIES / 2 + 1, rows[0].n]) {
      const { rows: want } = await t.sql.query(
        `SELECT prev_hash, hash FROM (SELECT prev_hash, hash, row_number() OVER (ORDER BY id) AS p FROM audit_log) x
          WHERE p BETWEEN $1 AND $1 + 2 ORDER BY p`,
        [from],
      );
      const got = (await t.http.get(`/api/register/audit-hashes?from=${from}&limit=3`).expect(200)).body
        .items;
      expect(got).toEqual(want.map((w, i) => ({ position: from + i, prevHash: w.prev_hash, hash: w.hash })));
    }
    const past = (await t.http.get(`/api/register/audit-hashes?from=${rows[0].n + 1}&limit=3`).expect(200))
      .body;
    expect(past.items).toEqual([]);
  });

  it('reads a handful of audit rows, not the whole chain, for either', async () => {
    expect(await explain(CHECKPOINT_HEADS_SQL)).toBeLessThanOrEqual(2);
    expect(await explain(AUDIT_HASHES_SQL, [ENTRIES - 10, 100])).toBeLessThanOrEqual(102);
  });

  it('measures both endpoints (figures in the report)', async () => {
    const time = async (path: string, n = 20) => {
      await t.http.get(path).expect(200);
      const start = performance.now();
      for (let i = 0; i < n; i++) await t.http.get(path).expect(200);
      return (performance.now() - start) / n;
    };
    const checkpoint = await time('/api/register/checkpoint');
    const hashes = await time(`/api/register/audit-hashes?from=${ENTRIES - 100}&limit=100`);
    console.info(
      `register reads on ${ENTRIES} audit entries: checkpoint ${checkpoint.toFixed(1)} ms, audit-hashes (near the end) ${hashes.toFixed(1)} ms`,
    );
  });
});
