/**
 * Ingest benchmark: a large synthetic FHIR NDJSON extract streamed to a real API process.
 *
 *   npm run build && npx swc bench -d dist -q && \
 *     node dist/bench/ingest.js --patients 200000 --events 8
 *
 * Starts the embedded PostgreSQL under .data/bench-pg (or uses DATABASE_URL), a fresh database,
 * the API as a child process (`dist/apps/api/src/main.js`), writes the extract to a temp file, then
 * uploads it streamed and reads the API process's peak RSS (VmHWM) from /proc.
 */
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { freePort } from '@custodian/database';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { API_RUN_ARGS, benchServer, freshDatabase, NODE_RUN_ENV, report } from './common';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const PATIENTS = arg('patients', 100_000);
/** The first administrator's password: the service's rules refuse one built on the email (bench@…). */
const ADMIN_PASSWORD = 'centre-intake-passphrase-9';
const EVENTS = arg('events', 8);
const ODS = 'A81001';

function nhsNumber(seed: number): string {
  for (let s = seed * 10; ; s++) {
    const stem = String(100_000_000 + (s % 800_000_000)).padStart(9, '0');
    const sum = [...stem].reduce((a, d, i) => a + Number(d) * (10 - i), 0);
    const check = 11 - (sum % 11);
    if (check === 10) continue;
    return stem + String(check === 11 ? 0 : check);
  }
}

async function writeExtract(file: string): Promise<{ lines: number; bytes: number }> {
  const out = createWriteStream(file);
  let lines = 0;
  const types = ['Condition', 'Procedure', 'MedicationStatement', 'Observation'] as const;
  const write = async (o: object) => {
    lines++;
    if (!out.write(`${JSON.stringify(o)}\n`)) await once(out, 'drain');
  };
  for (let p = 0; p < PATIENTS; p++) {
    const id = `p${p}`;
    await write({
      resourceType: 'Patient',
      id,
      identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: nhsNumber(p + 1) }],
      name: [{ family: 'Surname', given: ['Given'] }],
      telecom: [{ system: 'phone', value: '0113 496 0000' }],
      birthDate: `${1930 + (p % 80)}-${String(1 + (p % 12)).padStart(2, '0')}-${String(1 + (p % 28)).padStart(2, '0')}`,
      gender: p % 2 ? 'male' : 'female',
      address: [{ line: ['1 High Street'], city: 'Leeds', postalCode: `LS${1 + (p % 29)} ${p % 10}AB` }],
      extension: [
        {
          url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory',
          valueCodeableConcept: { coding: [{ code: 'ABCDEFGHJKLMNPRSZ'[p % 17] }] },
        },
      ],
      generalPractitioner: [
        { identifier: { system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: ODS } },
      ],
    });
    for (let e = 0; e < EVENTS; e++) {
      const type = types[e % 4];
      const date = `${2000 + (e % 20)}-0${1 + (e % 9)}-1${e % 10}`;
      const coded = {
        coding: [{ system: 'http://snomed.info/sct', code: String(22298006 + e), display: 'x' }],
      };
      const r: Record<string, unknown> = {
        resourceType: type,
        id: `${id}-${e}`,
        subject: { reference: `Patient/${id}` },
      };
      // Each with the elements FHIR R4 requires (a status where R4 has one): the intake refuses a
      // line without them, and the benchmark would time refusals (it did, 2026-12-07, for an hour).
      if (type === 'Condition') Object.assign(r, { code: coded, onsetDateTime: date });
      if (type === 'Procedure')
        Object.assign(r, { status: 'completed', code: coded, performedDateTime: `${date}T10:00:00Z` });
      if (type === 'MedicationStatement')
        Object.assign(r, { status: 'active', medicationCodeableConcept: coded, effectiveDateTime: date });
      if (type === 'Observation')
        Object.assign(r, {
          status: 'final',
          code: coded,
          effectiveDateTime: date,
          valueQuantity: { value: 70 + e, unit: 'kg' },
        });
      await write(r);
    }
  }
  out.end();
  await once(out, 'finish');
  return { lines, bytes: statSync(file).size };
}

interface Body {
  accessToken?: string;
  patients?: number;
  resources?: number;
  rejected?: unknown[];
  dropped?: { fields?: number };
}

const procKb = (pid: number, field: 'VmHWM' | 'VmRSS') => {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
};

function request(
  port: number,
  method: string,
  p: string,
  opts: { token?: string; json?: unknown; file?: string } = {},
): Promise<{ status: number; body: Body }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.json !== undefined) headers['content-type'] = 'application/json';
    if (opts.file) headers['content-type'] = 'application/x-ndjson';
    const req = http.request({ host: '127.0.0.1', port, method, path: p, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined });
      });
    });
    req.on('error', reject);
    if (opts.file) createReadStream(opts.file).pipe(req);
    else req.end(opts.json === undefined ? undefined : JSON.stringify(opts.json));
  });
}

async function main() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-ingest-'));
  const pg = process.env.DATABASE_URL
    ? { url: process.env.DATABASE_URL, stop: async () => undefined }
    : await benchServer();
  // A database of its own beside the bench database (dropped at the end).
  const fresh = await freshDatabase(pg.url, 'bench_ingest');
  const u = new URL(fresh.url);
  const port = await freePort();
  const api = spawn(process.execPath, [...API_RUN_ARGS, 'dist/apps/api/src/main.js'], {
    env: {
      ...process.env,
      ...NODE_RUN_ENV,
      DATABASE_URL: u.toString(),
      PORT: String(port),
      DEMO_SEED: 'false',
      // No job worker beside it: the measured process is the API, and nothing else competes with
      // the baseline that runs after the upload (the re-link job the upload queues stays queued).
      RUN_WORKER: 'false',
      CUSTODIAN_STATE_DIR: dir,
      ADMIN_EMAIL: 'bench@example.org',
      ADMIN_PASSWORD: ADMIN_PASSWORD,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  try {
    for (let i = 0; ; i++) {
      const ok = await request(port, 'GET', '/api/health').then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) break;
      // An API that stops at start (a refused ADMIN_PASSWORD, a bad setting) ends the run at once.
      if (api.exitCode !== null) throw new Error(`the API exited at start (code ${api.exitCode})`);
      if (i > 300) throw new Error('API did not start');
      await new Promise((r) => setTimeout(r, 200));
    }
    const login = async (email: string, password: string) =>
      (await request(port, 'POST', '/api/auth/login', { json: { email, password } })).body
        .accessToken as string;
    const adminToken = await login('bench@example.org', ADMIN_PASSWORD);
    await request(port, 'POST', '/api/practices', {
      token: adminToken,
      json: { odsCode: ODS, name: 'Bench', rollout: 'national' },
    });
    const started = new Date(Date.now() - 60 * 86_400_000).toISOString().slice(0, 10);
    await request(port, 'POST', `/api/practices/${ODS}/awareness`, {
      token: adminToken,
      json: { startedOn: started, reason: 'benchmark set-up: awareness period over' },
    });
    await request(port, 'POST', '/api/users', {
      token: adminToken,
      json: {
        email: 'practice@example.org',
        password: 'gp-extract-passphrase-1',
        displayName: 'P',
        roles: ['practice'],
        practiceOds: ODS,
      },
    });
    const token = await login('practice@example.org', 'gp-extract-passphrase-1');

    const file = path.join(dir, 'extract.ndjson');
    const g0 = Date.now();
    const { lines, bytes } = await writeExtract(file);
    const genSeconds = (Date.now() - g0) / 1000;
    const rssBefore = procKb(api.pid!, 'VmRSS');
    const hwmBefore = procKb(api.pid!, 'VmHWM');
    let sampledPeak = rssBefore;
    const sampler = setInterval(() => (sampledPeak = Math.max(sampledPeak, procKb(api.pid!, 'VmRSS'))), 100);
    const t0 = Date.now();
    const res = await request(port, 'POST', `/api/practices/${ODS}/extracts`, { token, file });
    const seconds = (Date.now() - t0) / 1000;
    clearInterval(sampler);
    const hwmAfter = procKb(api.pid!, 'VmHWM');
    // Every line stored, or the figure is not the intake's: a run whose lines were refused timed the
    // refusals (2026-12-07: the events lacked the status FHIR R4 requires).
    const refused = (res.body as { rejectedCount?: number } | undefined)?.rejectedCount ?? 0;
    if (res.status !== 201 || refused > 0)
      throw new Error(`the extract was not stored whole: HTTP ${res.status}, ${refused} lines refused`);

    // Baseline: the same rows already flat (what the intake stored), COPY FROM into tables with the
    // same columns, constraints and indexes — including the foreign keys (events → patient, patient
    // → practice), which `LIKE … INCLUDING ALL` does not copy and the intake pays for (a large
    // share of the insert: docs/BENCHMARKS.md).
    const db = new Client({ connectionString: fresh.url });
    await db.connect();
    const flat: Record<string, Buffer> = {};
    for (const table of ['patients', 'gp_events']) {
      const chunks: Buffer[] = [];
      const out = db.query(copyTo(`COPY ${table} TO STDOUT`));
      for await (const chunk of out) chunks.push(chunk as Buffer);
      flat[table] = Buffer.concat(chunks);
      await db.query(`CREATE TABLE bench_${table} (LIKE ${table} INCLUDING ALL)`);
    }
    await db.query(
      `ALTER TABLE bench_gp_events ADD FOREIGN KEY (patient_id) REFERENCES bench_patients(id) ON DELETE CASCADE`,
    );
    await db.query(
      `ALTER TABLE bench_patients ADD FOREIGN KEY (practice_ods) REFERENCES practices(ods_code)`,
    );
    const c0 = Date.now();
    for (const table of ['patients', 'gp_events'])
      await pipeline(Readable.from([flat[table]]), db.query(copyFrom(`COPY bench_${table} FROM STDIN`)));
    const copySeconds = (Date.now() - c0) / 1000;
    await db.end();
    report('ingest', copySeconds > 0 ? copySeconds / seconds : 0, {
      ingest_s: seconds,
      copy_from_s: copySeconds,
      resources: lines,
      resources_per_s: Math.round(lines / seconds),
      mb: +(bytes / 1e6).toFixed(1),
      api_peak_rss_mb: Math.round(hwmAfter / 1024),
    });
    const result = {
      patients: PATIENTS,
      eventsPerPatient: EVENTS,
      lines,
      megabytes: +(bytes / 1e6).toFixed(1),
      generateSeconds: genSeconds,
      status: res.status,
      report: {
        patients: res.body.patients,
        resources: res.body.resources,
        rejected: res.body.rejected?.length,
        dropped: res.body.dropped?.fields,
      },
      seconds,
      resourcesPerSecond: Math.round(lines / seconds),
      megabytesPerSecond: +(bytes / 1e6 / seconds).toFixed(1),
      apiRssBeforeMb: Math.round(rssBefore / 1024),
      apiPeakRssBeforeUploadMb: Math.round(hwmBefore / 1024),
      apiPeakRssMb: Math.round(hwmAfter / 1024),
      apiSampledPeakRssDuringUploadMb: Math.round(sampledPeak / 1024),
      machine: `${os.cpus().length} × ${os.cpus()[0]?.model}, ${Math.round(os.totalmem() / 1e9)} GB, Node ${process.version}`,
    };
    console.log(JSON.stringify(result, null, 2));
  } finally {
    api.kill('SIGTERM');
    await once(api, 'exit').catch(() => undefined);
    await fresh.drop();
    await pg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
