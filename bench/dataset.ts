/**
 * The population the release, anonymise and scale-out benchmarks share: patients from the
 * synthetic generator (`@custodian/synth`: real age structure, sex, ethnic categories by area,
 * postcodes of the practices' catchments), streamed into `patients` with COPY; GP events (about
 * `perPatient` each), one linked HES episode per patient, and ~2% Type 2 / ~1% Type 1 objectors
 * generated set-based in SQL from them (the generator's FHIR events would make this an ingest
 * benchmark). The database is kept (`custodian_bench_rel2_<patients>_<per>`) and reused by the next
 * run with the same sizes, because generating 10M rows takes minutes.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { runMigrations } from '@custodian/database';
import { loadObjectionHistorySql } from '@custodian/objections';
import { AREAS, Population } from '@custodian/synth';

export interface BenchDataset {
  url: string;
  /** A condition code about 1% of the patients have (one GP event each): the small cohort's. */
  cohortCode: string;
  patients: number;
  gpEvents: number;
  hesRows: number;
}

const SEX: Record<string, string> = { male: 'M', female: 'F', other: 'U', unknown: 'U' };

export async function releaseDataset(
  baseUrl: string,
  patients: number,
  perPatient: number,
): Promise<BenchDataset> {
  // v2: HES provider_code by the patient's area (was one provider for everyone).
  const name = `custodian_bench_rel2_${patients}_${perPatient}`;
  const url = Object.assign(new URL(baseUrl), { pathname: `/${name}` }).toString();
  const admin = new Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    const exists = (await admin.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [name])).rowCount;
    if (exists) {
      const c = new Client({ connectionString: url });
      await c.connect();
      const ready = await c
        .query(`SELECT patients, gp_events, hes_rows FROM bench_ready`)
        .then((r) => r.rows[0])
        .catch(() => undefined);
      await c.end();
      if (ready) {
        await runMigrations(url);
        await benchBid(url);
        await rareCode(url);
        return {
          url,
          cohortCode: COHORT_CODE,
          patients: Number(ready.patients),
          gpEvents: Number(ready.gp_events),
          hesRows: Number(ready.hes_rows),
        };
      }
      await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
    }
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  await runMigrations(url);
  const t0 = Date.now();
  const sql = new Client({ connectionString: url });
  await sql.connect();
  try {
    const pop = new Population({ practices: Math.max(1, Math.round(patients / 8000)), patients, seed: 7 });
    await sql.query(
      `INSERT INTO practices (ods_code, name, rollout) SELECT unnest($1::text[]), unnest($2::text[]), 'national'`,
      [pop.practices.map((p) => p.ods), pop.practices.map((p) => p.name)],
    );
    function* rows(): Generator<string> {
      let batch = '';
      for (const practice of pop.practices)
        for (let i = practice.firstPatient; i < practice.firstPatient + practice.patients; i++) {
          const p = pop.person(i, practice);
          batch += `${p.nhsNumber},${pop.iso(p.birthDay)},${SEX[p.gender]},${p.postcode},${p.ethnicity ?? ''},${practice.ods},${p.id}\n`;
          if (batch.length > 65536) {
            yield batch;
            batch = '';
          }
        }
      if (batch) yield batch;
    }
    await pipeline(
      Readable.from(rows()),
      sql.query(
        copyFrom(
          `COPY patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id) FROM STDIN WITH (FORMAT csv)`,
        ),
      ),
    );
    // Each patient registered at one practice, as the intake leaves a single practice's extract.
    await sql.query(
      `INSERT INTO patient_registrations (patient_id, practice_ods, source_id, birth_date, sex, postcode, ethnicity)
       SELECT id, practice_ods, source_id, birth_date, sex, postcode, ethnicity FROM patients`,
    );
    await sql.query(
      `INSERT INTO source_loads (id, kind) VALUES ('00000000-0000-4000-8000-00000000000b', 'hes')`,
    );
    // Events: a deterministic spread of types, codes and dates per patient.
    await sql.query(
      `INSERT INTO gp_events (patient_id, practice_ods, resource_type, resource_id, code_system, code, event_date, value)
       SELECT p.id, p.practice_ods, (ARRAY['condition','procedure','medication','observation'])[1 + (hashint8(p.id * 64 + g) & 3)],
              'e' || g, 'snomed',
              (ARRAY['44054006','38341003','195967001','22298006','73211009','271737000','35489007','13645005',
                     '49436004','399211009','59621000','84114007'])[1 + ((hashint8(p.id * 64 + g) >> 2) & 2147483647) % 12],
              LEAST(DATE '2025-12-31', GREATEST(p.birth_date, DATE '2000-01-01' + ((hashint8(p.id * 64 + g) >> 8) & 2147483647) % 9496)),
              CASE WHEN hashint8(p.id * 64 + g) & 3 = 3 THEN (((hashint8(p.id * 64 + g) >> 16) & 1023) / 10.0)::text END
         FROM patients p CROSS JOIN generate_series(1, $1::int) g
        ORDER BY p.id, g`, // stored per patient, as the intake writes an extract's events
      [perPatient],
    );
    await sql.query(
      `INSERT INTO hes_episodes (epikey, nhs_number, birth_date, sex, postcode, admission_date, diagnosis_icd10,
                                 procedure_opcs4, provider_code, load_id, patient_id, linkage_step)
       SELECT 'E' || p.id, p.nhs_number, p.birth_date, p.sex, p.postcode,
              GREATEST(p.birth_date, DATE '2010-01-01' + (p.id % 5800)::int),
              (ARRAY['I63.9','J18.9','E11.9','I21.9','K35.8','S72.0','C50.9','N39.0'])[1 + p.id % 8],
              CASE WHEN p.id % 3 = 0 THEN 'W371' END,
              -- the acute trust serving the patient's postcode area (the generator's reference data)
              coalesce(($1::jsonb) ->> rtrim(left(p.postcode, 2), '0123456789'), 'RR8'),
              '00000000-0000-4000-8000-00000000000b', p.id, 1
         FROM patients p`,
      [JSON.stringify(Object.fromEntries(AREAS.map((a) => [a.area, a.provider])))],
    );
    // Through the objections library's named statements (it owns the history and the register).
    await sql.query('BEGIN');
    for (const statement of loadObjectionHistorySql(
      `(SELECT nhs_number, CASE WHEN id % 3 = 0 THEN 'type1' ELSE 'type2' END AS type, 'register' AS action,
               TIMESTAMPTZ '2014-01-01 00:00:00+00' AS effective_at, 'api' AS source
          FROM patients WHERE hashint8(id) % 100 IN (0, 1, 2))`,
    ))
      await sql.query(statement);
    await sql.query('COMMIT');
    await sql.query(`VACUUM ANALYZE`);
    const [{ gp, hes }] = (
      await sql.query(
        `SELECT (SELECT count(*) FROM gp_events) AS gp, (SELECT count(*) FROM hes_episodes) AS hes`,
      )
    ).rows;
    await sql.query(
      `CREATE TABLE bench_ready AS SELECT $1::bigint AS patients, $2::bigint AS gp_events, $3::bigint AS hes_rows`,
      [patients, gp, hes],
    );
    await benchBid(url);
    await rareCode(url);
    console.log(
      `generated ${patients} patients, ${gp} GP events, ${hes} HES episodes in ${(Date.now() - t0) / 1000}s`,
    );
    return { url, cohortCode: COHORT_CODE, patients, gpEvents: Number(gp), hesRows: Number(hes) };
  } finally {
    await sql.end();
  }
}

/** SNOMED CT 230690007, cerebrovascular accident: the 1% cohort's condition (issue #22, target 4). */
const COHORT_CODE = '230690007';

/**
 * About 1% of the patients (by a hash of their id) get the cohort's code on their first GP event,
 * once per dataset (datasets generated before it get it on their next use): a condition-code
 * cohort of ~1% for the release benchmark's small-cohort run.
 */
async function rareCode(url: string): Promise<void> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`ALTER TABLE bench_ready ADD COLUMN IF NOT EXISTS cohort_code text`);
    const [{ done }] = (await c.query(`SELECT cohort_code IS NOT NULL AS done FROM bench_ready`)).rows;
    if (done) return;
    await c.query(
      `UPDATE gp_events SET code = $1
        WHERE resource_id = 'e1' AND (hashint8(patient_id)::bigint % 100 + 100) % 100 = 37`,
      [COHORT_CODE],
    );
    await c.query(`UPDATE bench_ready SET cohort_code = $1`, [COHORT_CODE]);
    await c.query(`VACUUM ANALYZE gp_events`);
  } finally {
    await c.end();
  }
}

/** The organisation, user and active bid the benchmarks' releases belong to (fixed ids). */
export const BENCH_BID = {
  bidId: '00000000-0000-4000-8000-0000000000b1',
  /**
   * The small cohort's own bid: the differencing guard compares a release with its bid's last one,
   * so a 1% cohort on the whole-population bid would be compared with a million persons.
   */
  cohortBidId: '00000000-0000-4000-8000-0000000000b2',
  organisationId: '00000000-0000-4000-8000-0000000000c1',
  userId: '00000000-0000-4000-8000-0000000000d1',
};

async function benchBid(url: string): Promise<void> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(
      `INSERT INTO organisations (id, name, kind) VALUES ($1, 'Bench University', 'academic') ON CONFLICT DO NOTHING`,
      [BENCH_BID.organisationId],
    );
    await c.query(
      `INSERT INTO users (id, email, password_hash, display_name, roles, organisation_id)
       VALUES ($1, 'bench-researcher@example.org', 'x', 'Bench', '{researcher}', $2) ON CONFLICT DO NOTHING`,
      [BENCH_BID.userId, BENCH_BID.organisationId],
    );
    await c.query(
      `INSERT INTO bids (id, organisation_id, created_by, state, title, purpose, public_benefit, legal_basis,
                         requested_tier, granted_tier, datasets, duration_months, recipients, submitted_at)
       VALUES ($1, $2, $3, 'active', 'Benchmark', 'Benchmark', 'Benchmark', 's251', 'pseudonymised', 'pseudonymised',
               '[]', 12, ARRAY[$3]::uuid[], now()), ($4, $2, $3, 'active', 'Benchmark cohort', 'Benchmark', 'Benchmark', 's251',
               'pseudonymised', 'pseudonymised', '[]', 12, ARRAY[$3]::uuid[], now()) ON CONFLICT DO NOTHING`,
      [BENCH_BID.bidId, BENCH_BID.organisationId, BENCH_BID.userId, BENCH_BID.cohortBidId],
    );
    // An agreement in force: a release completes only under the version in force (the anonymise and
    // release benchmarks failed with RELEASE_STATE_CHANGED without one, since 2026-12-07).
    for (const bid of [BENCH_BID.bidId, BENCH_BID.cohortBidId])
      await c.query(
        `INSERT INTO agreements (bid_id, number, year, reference, status, tier, duration_months, start_date, end_date)
         SELECT $1::uuid, nextval('agreement_number_seq'), 2026, $2, 'active', 'pseudonymised', 12,
                current_date - 1, current_date + 365
          WHERE NOT EXISTS (SELECT 1 FROM agreements WHERE bid_id = $1::uuid)`,
        [bid, `DSA-BENCH-${bid.slice(-12)}`],
      );
  } finally {
    await c.end();
  }
}
