import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { from as copyFrom } from 'pg-copy-streams';
import { createTestApp, TestApp } from '@custodian/testing';
import { RISK_PERSON_COLUMN, RISK_QUASI_IDENTIFIERS } from '../libs/release/src/risk-report';
import type { ReleaseSpec } from '@custodian/release';
import { addObjection, newLoad, runRelease, seedPractice, spec } from './release-helpers';

/**
 * The risk report (#24) tallied while the shards write the files (issue #22) gives the figures the
 * report's first version computed by reading every published file back into PostgreSQL: that
 * computation is kept here as the reference, and compared on releases of every record-level tier,
 * sharded, with and without a person column, per event and per person; the linkage figures equal
 * the released HES file's own `linkage_step` column. And the report no longer reads the released
 * rows back: the whole release inserts fewer tuples than its files hold rows.
 */
describe('release risk report tallied in the shards (#22)', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[] };
  let researcherId: string;

  beforeAll(async () => {
    // Several shards per release, built in this process.
    t = await createTestApp({ RELEASE_SHARD_ROWS: '400', RELEASE_MAX_SHARDS: '4' });
    officer = (await t.as('release_officer')).user as never;
    researcherId = (await t.as('researcher')).user.id;
    await seedPractice(t.sql);
    // 600 patients: coarse classes (a few birth dates, districts, sexes, ethnicities), NULL
    // postcodes and ethnicities, a few persons alone in their class.
    await t.sql.query(
      `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id)
       SELECT (9600000000 + g)::text,
              CASE WHEN g % 97 = 0 THEN DATE '1931-02-03' + g ELSE DATE '1950-01-01' + (g % 4) * 3650 END,
              (ARRAY['M','F','F','U'])[1 + g % 4],
              CASE WHEN g % 50 = 0 THEN NULL ELSE (ARRAY['LS1 4AP','LS6 2AA','BD1 1AA'])[1 + g % 3] END,
              CASE WHEN g % 40 = 0 THEN NULL ELSE (ARRAY['A','B','A','C'])[1 + g % 4] END,
              'A81001', 'r' || g
         FROM generate_series(1, 600) g`,
    );
    await t.sql.query(
      `INSERT INTO gp_events (patient_id, practice_ods, resource_type, resource_id, code_system, code, event_date, value)
       SELECT p.id, p.practice_ods, 'observation', 'o' || g, 'snomed', (100000 + g % 3)::text,
              DATE '2010-01-01' + ((p.id * 7 + g) % 2000)::int,
              CASE WHEN g = 1 THEN 'a, "quoted"' || chr(10) || 'value' END
         FROM patients p CROSS JOIN generate_series(1, 1 + p.id::int % 5) g ORDER BY p.id, g`,
    );
    const hes = await newLoad(t.sql, 'hes');
    await t.sql.query(
      `INSERT INTO hes_episodes (epikey, nhs_number, birth_date, sex, admission_date, diagnosis_icd10, load_id, patient_id, linkage_step)
       SELECT 'E' || p.id || '-' || g, CASE WHEN p.id % 3 = 0 THEN p.nhs_number END, p.birth_date, p.sex,
              DATE '2015-01-01' + (p.id % 900)::int, 'I63.9', $1,
              CASE WHEN p.id % 5 = 0 THEN NULL ELSE p.id END, CASE WHEN p.id % 5 = 0 THEN NULL ELSE 1 + p.id % 8 END
         FROM patients p CROSS JOIN generate_series(1, 1 + p.id::int % 2) g WHERE p.id % 5 <> 0 OR p.id % 3 = 0`,
      [hes],
    );
    for (let g = 7; g <= 600; g += 61) await addObjection(t.sql, String(9600000000 + g), 'type2');
  });
  afterAll(() => t?.close());

  const file = (id: string, name: string) => path.join(t.config.dataDir, id, name);

  /** The report's first version: the published file read back into a table and counted there. */
  async function reference(tier: Exclude<ReleaseSpec['tier'], 'aggregate'>, id: string, name: string) {
    const csv = gunzipSync(readFileSync(file(id, name)));
    const header = csv.subarray(0, csv.indexOf(10)).toString('utf8').split(',');
    const personColumn = header.includes(RISK_PERSON_COLUMN[tier]) ? RISK_PERSON_COLUMN[tier] : null;
    const qis = RISK_QUASI_IDENTIFIERS[tier].filter((q) => header.includes(q));
    await t.sql.query('BEGIN');
    try {
      await t.sql.query(
        `CREATE TEMP TABLE rel_risk (${header.map((h) => `${h} text`).join(', ')}) ON COMMIT DROP`,
      );
      await pipeline(
        Readable.from([csv]),
        t.sql.query(copyFrom(`COPY rel_risk FROM STDIN WITH (FORMAT csv, HEADER true)`)),
      );
      const person = personColumn ?? 'ctid::text';
      const qi = qis.length ? `ROW(${qis.join(', ')})::text` : `''`;
      const {
        rows: [r],
      } = await t.sql.query(
        `WITH p AS (SELECT DISTINCT ${person} AS person, ${qi} AS qi FROM rel_risk),
              c AS (SELECT qi, count(*)::bigint AS n FROM p GROUP BY qi)
         SELECT (SELECT count(DISTINCT person) FROM p)::int AS persons,
                (SELECT coalesce(sum(n) FILTER (WHERE n = 1), 0) FROM c)::int AS unique_persons,
                (SELECT coalesce(min(n), 0) FROM c)::int AS smallest`,
      );
      const steps: { step: string | null; n: number }[] | undefined = header.includes('linkage_step')
        ? (
            await t.sql.query(
              `SELECT linkage_step AS step, count(*)::int AS n FROM rel_risk GROUP BY 1 ORDER BY 1`,
            )
          ).rows
        : undefined;
      return { personColumn, quasiIdentifiers: qis, ...r, steps };
    } finally {
      await t.sql.query('COMMIT');
    }
  }

  const releases: [string, Partial<ReleaseSpec>][] = [
    [
      'identifiable, per event, every quasi-identifier',
      {
        tier: 'identifiable',
        datasets: [
          {
            dataset: 'gp',
            fields: ['nhs_number', 'date_of_birth', 'sex', 'postcode', 'ethnicity', 'code', 'value'],
          },
          { dataset: 'hes', fields: ['nhs_number', 'date_of_birth', 'admission_date', 'linkage_step'] },
        ],
      },
    ],
    [
      'pseudonymised, per event and per person',
      {
        tier: 'pseudonymised',
        datasets: [
          { dataset: 'gp', fields: ['nhs_number', 'date_of_birth', 'sex', 'postcode', 'code', 'event_date'] },
          { dataset: 'hes', fields: ['nhs_number', 'sex', 'postcode'] },
        ],
      },
    ],
    [
      'pseudonymised without a person column (rows in keyed-hash order)',
      {
        tier: 'pseudonymised',
        datasets: [
          { dataset: 'gp', fields: ['date_of_birth', 'sex', 'code'] },
          { dataset: 'hes', fields: ['sex', 'admission_date', 'linkage_step'] },
        ],
      },
    ],
    [
      'anonymised',
      {
        tier: 'anonymised',
        datasets: [
          { dataset: 'gp', fields: ['nhs_number', 'date_of_birth', 'sex', 'postcode', 'code'] },
          { dataset: 'hes', fields: ['date_of_birth', 'sex'] },
        ],
      },
    ],
  ];

  it.each(releases)(
    '%s: the same figures as reading the files back',
    async (_what, over) => {
      const s = spec({ recipients: [researcherId], requestedBy: officer.id, ...over });
      const done = await runRelease(t, s, officer);
      expect(done.failure_reason).toBeNull();
      const {
        rows: [rel],
      } = await t.sql.query(
        `SELECT r.risk_report, (SELECT count(*)::int FROM release_shards WHERE release_id = r.id) AS shards
         FROM releases r WHERE r.id = $1`,
        [done.id],
      );
      expect(rel.shards).toBeGreaterThan(1);
      const tier = s.tier as Exclude<ReleaseSpec['tier'], 'aggregate'>;
      for (const d of s.datasets) {
        const name = `${d.dataset}.csv.gz`;
        const ref = await reference(tier, done.id, name);
        const got = rel.risk_report.files.find((f: { file: string }) => f.file === name);
        expect(got).toMatchObject({
          personColumn: ref.personColumn,
          quasiIdentifiers: ref.quasiIdentifiers,
          persons: ref.persons,
          uniquePersons: ref.unique_persons,
          smallestClass: ref.smallest,
        });
        expect(ref.persons).toBeGreaterThan(0);
        const steps: { step: string | null; n: number }[] | undefined = ref.steps;
        if (steps && tier !== 'anonymised') {
          const linkage = rel.risk_report.linkage.find((l: { dataset: string }) => l.dataset === d.dataset);
          const byStep = Object.fromEntries(steps.filter((r) => r.step !== null).map((r) => [r.step, r.n]));
          expect(linkage.rows).toBe(steps.reduce((n, r) => n + r.n, 0));
          expect(linkage.unlinked).toBe(steps.find((r) => r.step === null)?.n ?? 0);
          for (const [step, n] of Object.entries(linkage.byStep)) expect(n).toBe(byStep[step] ?? 0);
        }
      }
    },
    60_000,
  );

  it('does not read the released rows back: the release inserts fewer tuples than its files hold rows', async () => {
    const inserted = async () =>
      Number(
        (await t.sql.query(`SELECT tup_inserted FROM pg_stat_database WHERE datname = current_database()`))
          .rows[0].tup_inserted,
      );
    // Ten more events a person, so that the files' rows far outnumber what a release writes per
    // person (its working set, the differencing ledger: ~1,900 tuples for these 600 persons, against
    // ~1,800 rows before, too close to tell a read-back from noise such as a queue's job rows).
    await t.sql.query(
      `INSERT INTO gp_events (patient_id, practice_ods, resource_type, resource_id, code_system, code, event_date)
       SELECT p.id, p.practice_ods, 'observation', 'more-' || p.id || '-' || g, 'snomed', (100000 + g % 3)::text,
              DATE '2010-01-01' + ((p.id * 11 + g) % 2000)::int
         FROM patients p CROSS JOIN generate_series(1, 10) g`,
    );
    // Statistics reach pg_stat_database when each backend flushes them (at most ~10 s idle).
    await new Promise((r) => setTimeout(r, 11_000));
    const before = await inserted();
    const s = spec({
      recipients: [researcherId],
      requestedBy: officer.id,
      tier: 'pseudonymised',
      datasets: [
        { dataset: 'gp', fields: ['nhs_number', 'date_of_birth', 'sex', 'code', 'event_date', 'value'] },
      ],
    });
    const done = await runRelease(t, s, officer);
    expect(done.failure_reason).toBeNull();
    const {
      rows: [{ rows }],
    } = await t.sql.query(`SELECT rows_done::int AS rows FROM releases WHERE id = $1`, [done.id]);
    expect(rows).toBeGreaterThan(7000);
    await new Promise((r) => setTimeout(r, 11_000));
    expect(await inserted()).toBeLessThan(before + rows);
  }, 90_000);
});
