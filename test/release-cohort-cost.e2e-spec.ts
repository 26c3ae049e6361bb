import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createTestApp, TestApp } from '@custodian/testing';
import { ReleaseService } from '@custodian/release';
import type { ReleaseSpec } from '@custodian/release';
import { ensureActiveBid, newLoad, seedPractice, spec, waitForRelease } from './release-helpers';
import { killWorker, startWorker } from './support/worker-process';

/**
 * Cost follows the cohort (issue #22, target 4): a release of a small cohort — one practice of
 * twenty, or a condition code 1% of the patients have — reads about its share of gp_events, not
 * the whole table. Measured from the table's statistics (rows read by sequential scans and index
 * entries read, every phase and process of the release: preparation, shards, verification) before
 * the release and after its worker process has gone (its backends flush their counters on exit),
 * set against the table's rows.
 */
describe('a small cohort release reads what it releases, not the database', () => {
  let t: TestApp;
  let worker: ChildProcess | undefined;
  let officer: { id: string; roles: string[] };
  let researcherId: string;
  const PRACTICES = 20;
  const PER_PRACTICE = 150;
  const EVENTS = 20;
  const RARE = '230690007';

  beforeAll(async () => {
    t = await createTestApp({ RUN_WORKER: 'false' });
    officer = (await t.as('release_officer')).user as never;
    researcherId = (await t.as('researcher')).user.id;
    const odsOf = (i: number) => `B${String(82000 + i).padStart(5, '0')}`;
    for (let i = 0; i < PRACTICES; i++) await seedPractice(t.sql, odsOf(i));
    await t.sql.query(
      `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id)
       SELECT (9600000000 + g)::text, DATE '1940-01-01' + (g * 37 % 25000), CASE WHEN g % 2 = 0 THEN 'M' ELSE 'F' END,
              (ARRAY['LS1 4AP','LS6 2AA','BD1 1AA'])[1 + g % 3], 'A',
              'B' || lpad((82000 + (g - 1) / $1::int)::text, 5, '0'), g::text
         FROM generate_series(1, $1::int * $2::int) g`,
      [PER_PRACTICE, PRACTICES],
    );
    // Events stored per patient, as the intake writes an extract's; the rare code on the first
    // event of every hundredth patient.
    await t.sql.query(
      `INSERT INTO gp_events (patient_id, practice_ods, resource_type, resource_id, code_system, code, event_date)
       SELECT p.id, p.practice_ods, 'observation', 'o' || g, 'snomed',
              CASE WHEN g = 1 AND p.id % 100 = 7 THEN $2::text ELSE (100000 + g % 12)::text END,
              DATE '2010-01-01' + ((p.id * 7 + g) % 4000)::int
         FROM patients p CROSS JOIN generate_series(1, $1::int) g ORDER BY p.id, g`,
      [EVENTS, RARE],
    );
    const hes = await newLoad(t.sql, 'hes');
    await t.sql.query(
      `INSERT INTO hes_episodes (epikey, nhs_number, birth_date, sex, admission_date, diagnosis_icd10, load_id, patient_id, linkage_step)
       SELECT 'E' || p.id, p.nhs_number, p.birth_date, p.sex, DATE '2015-01-01' + (p.id % 900)::int, 'J18.9', $1, p.id, 1
         FROM patients p`,
      [hes],
    );
    await t.sql.query(`ANALYZE patients, gp_events, hes_episodes`);
    worker = await startWorker(t);
  }, 120_000);
  afterAll(async () => {
    if (worker) await killWorker(worker);
    await t?.close();
  });

  /**
   * Rows of gp_events read so far — by sequential scans, and index entries read (index-only scans
   * and lookups alike) — and its rows (counted by the ANALYZE after the seeding).
   */
  const gpReads = async () => {
    const { rows } = await t.sql.query(
      `SELECT (st.seq_tup_read + (SELECT coalesce(sum(i.idx_tup_read), 0) FROM pg_stat_user_indexes i
                                   WHERE i.relid = st.relid))::bigint AS read,
              (SELECT reltuples FROM pg_class WHERE oid = 'gp_events'::regclass)::bigint AS size
         FROM pg_stat_user_tables st WHERE st.relname = 'gp_events'`,
    );
    return { read: Number(rows[0].read), size: Number(rows[0].size) };
  };

  /** Runs the release in the worker process; the rows of gp_events it read, over the table's. */
  async function releaseReads(s: ReleaseSpec): Promise<{ id: string; share: number }> {
    await ensureActiveBid(t, s);
    // This session's own counters (the seeding) go out before the first reading.
    await t.sql.query(`SELECT pg_stat_force_next_flush()`);
    await new Promise((r) => setTimeout(r, 300));
    const before = await gpReads();
    const { id } = await t.app.get(ReleaseService).request(s, officer as never);
    expect((await waitForRelease(t, id, 60_000)).state).toBe('completed');
    // The worker's backends flush their counters when it goes; a fresh one serves the next release.
    await killWorker(worker!);
    await new Promise((r) => setTimeout(r, 1000));
    const after = await gpReads();
    worker = await startWorker(t);
    return { id, share: (after.read - before.read) / after.size };
  }

  const gpRows = (id: string) =>
    gunzipSync(readFileSync(path.join(t.config.dataDir, id, 'gp.csv.gz')))
      .toString('utf8')
      .trimEnd()
      .split('\n')
      .slice(1);

  const base = () =>
    spec({
      tier: 'pseudonymised',
      datasets: [
        { dataset: 'gp', fields: ['nhs_number', 'code', 'event_date'] },
        { dataset: 'hes', fields: ['nhs_number', 'admission_date', 'diagnosis_icd10'] },
      ],
      recipients: [researcherId],
      requestedBy: officer.id,
    });

  it('a condition code that 1% of the patients have: every event of theirs, and under 5% of gp_events read', async () => {
    const s = { ...base(), cohort: { conditionCodes: [RARE] } };
    const { id, share } = await releaseReads(s);
    const rows = gpRows(id);
    const persons = (PRACTICES * PER_PRACTICE) / 100;
    expect(rows.length).toBe(persons * EVENTS);
    expect(new Set(rows.map((r) => r.split(',')[0])).size).toBe(persons);
    expect(share).toBeLessThan(0.05);
  }, 120_000);

  it('one practice of twenty (5%): its patients only, and under 20% of gp_events read', async () => {
    const s = { ...base(), cohort: { practices: ['B82003'] } };
    const { id, share } = await releaseReads(s);
    expect(gpRows(id).length).toBe(PER_PRACTICE * EVENTS);
    // The practice's events are read three times — the preparation, the shards, and the verifier's
    // recount of the rows each released person may have (probe 42, by patient since it read the
    // whole table) — 15% of the table; the whole table would be 100% and more.
    expect(share).toBeLessThan(0.2);
  }, 120_000);
});
