/**
 * Release benchmark: a pseudonymised GP + HES release of a synthetic population, beside a raw
 * two-stream COPY of the same joined rows to /dev/null (the floor: PostgreSQL's own cost of
 * producing the rows). Prints `BENCH release ratio=…` and the peak RSS of this Node process, which
 * runs the whole engine in-process (gzip and hashing included).
 *
 *   npm run -s build && npx swc bench -d dist --only '**\/*.ts' -q && node dist/bench/release.js
 *   BENCH_PATIENTS=1000000 BENCH_EVENTS_PER_PATIENT=10 (defaults 100000 and 10); DATABASE_URL to use
 *   an existing server (a fresh database `custodian_bench` is created on it), else an embedded one.
 */
import 'reflect-metadata';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { NestFactory } from '@nestjs/core';
import { Client } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { loadConfig } from '@custodian/core';
import { runMigrations, startEmbeddedPostgres } from '@custodian/database';
import { ReleaseService } from '@custodian/release';
import { WorkerModule } from '../apps/worker/src/worker.module';

const PATIENTS = Number(process.env.BENCH_PATIENTS ?? 100_000);
const PER = Number(process.env.BENCH_EVENTS_PER_PATIENT ?? 10);

async function main(): Promise<void> {
  const server = process.env.DATABASE_URL
    ? { url: process.env.DATABASE_URL, stop: async () => undefined }
    : await startEmbeddedPostgres({
        dataDir: path.resolve('.data/bench-pg'),
        password: 'bench',
        database: 'postgres',
      });
  const admin = new Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS custodian_bench WITH (FORCE)`);
  await admin.query(`CREATE DATABASE custodian_bench`);
  await admin.end();
  const u = new URL(server.url);
  u.pathname = '/custodian_bench';
  const url = u.toString();
  await runMigrations(url);

  const sql = new Client({ connectionString: url });
  await sql.connect();
  let t = Date.now();
  await sql.query(`INSERT INTO practices (ods_code, name, rollout) VALUES ('A81001', 'Bench', 'national')`);
  await sql.query(
    `INSERT INTO source_loads (id, kind) VALUES ('00000000-0000-4000-8000-00000000000b', 'hes')`,
  );
  await sql.query(
    `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id)
     SELECT (4000000000 + g)::text, DATE '1930-01-01' + (g::bigint * 7919 % 30000)::int, CASE WHEN g % 2 = 0 THEN 'M' ELSE 'F' END,
            (ARRAY['LS1 4AP', 'LS6 2AA', 'BD1 1AA', 'M1 1AE', 'EC1A 1BB'])[1 + g % 5], 'A', 'A81001', g::text
       FROM generate_series(1, $1::int) g`,
    [PATIENTS],
  );
  await sql.query(
    `INSERT INTO gp_events (patient_id, resource_type, resource_id, code_system, code, event_date)
     SELECT p.id, 'condition', 'c' || g, 'snomed', (22298000 + g)::text, DATE '2005-01-01' + ((p.id * 31 + g * 97) % 3650)::int
       FROM patients p CROSS JOIN generate_series(1, $1::int) g`,
    [PER],
  );
  await sql.query(
    `INSERT INTO hes_episodes (epikey, nhs_number, birth_date, sex, postcode, admission_date, diagnosis_icd10, provider_code, load_id, patient_id, linkage_step)
     SELECT 'E' || p.id, p.nhs_number, p.birth_date, p.sex, p.postcode, DATE '2010-01-01' + (p.id % 1500)::int, 'I63.9', 'RR8',
            '00000000-0000-4000-8000-00000000000b', p.id, 1
       FROM patients p`,
  );
  await sql.query(
    `INSERT INTO objection_events (nhs_number, type, action, effective_on, source)
     SELECT nhs_number, 'type2', 'register', DATE '2014-01-01', 'api' FROM patients WHERE id % 50 = 0`,
  );
  await sql.query(`VACUUM ANALYZE`);
  const events = PATIENTS * PER;
  console.log(
    `generated ${PATIENTS} patients, ${events} GP events, ${PATIENTS} HES episodes in ${(Date.now() - t) / 1000}s`,
  );

  // Raw floor: the same joined rows, two COPY streams to /dev/null.
  t = Date.now();
  const sink = () =>
    new Writable({
      write(_c, _e, cb) {
        cb();
      },
    });
  await pipeline(
    sql.query(
      copyTo(`COPY (SELECT p.nhs_number, p.birth_date, p.postcode, p.sex, e.code, e.event_date
                      FROM gp_events e JOIN patients p ON p.id = e.patient_id) TO STDOUT WITH (FORMAT csv, HEADER true)`),
    ),
    sink(),
  );
  await pipeline(
    sql.query(
      copyTo(`COPY (SELECT p.nhs_number, h.admission_date, h.diagnosis_icd10 FROM hes_episodes h
                      JOIN patients p ON p.id = h.patient_id) TO STDOUT WITH (FORMAT csv, HEADER true)`),
    ),
    sink(),
  );
  const raw = (Date.now() - t) / 1000;

  const config = loadConfig({
    NODE_ENV: 'test',
    CUSTODIAN_STATE_DIR: mkdtempSync(path.join(tmpdir(), 'custodian-bench-')),
    JWT_SECRET: 'bench-jwt-secret-that-is-long-enough-0123456789',
    PSEUDONYM_KEY_SECRET: 'bench-pseudonym-secret-long-enough-0123456789',
    LOG_LEVEL: 'warn',
    WORKER_CONCURRENCY: '1',
  });
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config, url), {
    logger: false,
  });
  await app.init();
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
  t = Date.now();
  const { id } = await app.get(ReleaseService).request(
    {
      bidId: '00000000-0000-4000-8000-0000000000b1',
      organisationId: '00000000-0000-4000-8000-0000000000c1',
      agreementReference: 'BENCH',
      tier: 'pseudonymised',
      legalBasis: 's251',
      datasets: [
        { dataset: 'gp', fields: ['nhs_number', 'date_of_birth', 'postcode', 'sex', 'code', 'event_date'] },
        { dataset: 'hes', fields: ['nhs_number', 'admission_date', 'diagnosis_icd10'] },
      ],
      cohort: {},
      recipients: ['00000000-0000-4000-8000-0000000000d1'],
      requestedBy: '00000000-0000-4000-8000-0000000000e1',
    },
    { id: '00000000-0000-4000-8000-0000000000e1', roles: ['release_officer'] },
  );
  let state = 'queued';
  while (state !== 'completed' && state !== 'failed') {
    await new Promise((r) => setTimeout(r, 200));
    state = (await sql.query(`SELECT state FROM releases WHERE id = $1`, [id])).rows[0].state;
  }
  const release = (Date.now() - t) / 1000;
  clearInterval(sampler);
  const { rows } = await sql.query(
    `SELECT name, rows, bytes FROM release_files WHERE release_id = $1 ORDER BY name`,
    [id],
  );
  console.log(state, rows.map((r) => `${r.name} ${r.rows} rows ${r.bytes} bytes`).join('; '));
  console.log(
    `BENCH release ratio=${(release / raw).toFixed(2)} release_s=${release.toFixed(1)} raw_copy_s=${raw.toFixed(1)} ` +
      `patients=${PATIENTS} gp_events=${events} peak_rss_mb=${Math.round(peak / 1048576)}`,
  );
  await app.close();
  await sql.end();
  await server.stop();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
