import { createHash, createHmac, randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Client } from 'pg';
import type { TestApp } from '@custodian/testing';
import { APP_CONFIG, AppConfig } from '@custodian/core';
import { ReleaseEngine, ReleaseService, ReleaseSpec } from '@custodian/release';
import { ReleaseKeys } from '../libs/release/src/keys';
import type { VerifyDeps } from '../libs/release/src/verifier/verify-release';

/** Test data straight into the tables, as the intake and linkage modules would leave it. */
export async function seedPractice(sql: Client, ods = 'A81001'): Promise<void> {
  await sql.query(
    `INSERT INTO practices (ods_code, name, rollout) VALUES ($1, $2, 'national') ON CONFLICT DO NOTHING`,
    [ods, `Practice ${ods}`],
  );
}

export async function newLoad(sql: Client, kind: 'hes' | 'social_care'): Promise<string> {
  const { rows } = await sql.query(`INSERT INTO source_loads (kind) VALUES ($1) RETURNING id`, [kind]);
  return rows[0].id;
}

export interface PatientSeed {
  nhs: string;
  birth?: string;
  sex?: 'M' | 'F' | 'U';
  postcode?: string | null;
  ethnicity?: string | null;
  practice?: string;
}

export async function addPatient(sql: Client, p: PatientSeed): Promise<string> {
  const { rows } = await sql.query(
    `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
    [
      p.nhs,
      p.birth ?? '1970-05-17',
      p.sex ?? 'F',
      p.postcode === undefined ? 'LS1 4AP' : p.postcode,
      p.ethnicity ?? 'A',
      p.practice ?? 'A81001',
      p.nhs,
    ],
  );
  return rows[0].id;
}

export async function addEvent(
  sql: Client,
  patientId: string,
  code = '22298006',
  date = '2012-03-04',
): Promise<void> {
  await sql.query(
    `INSERT INTO gp_events (patient_id, practice_ods, resource_type, resource_id, code_system, code, event_date)
     SELECT $1, practice_ods, 'condition', $2, 'snomed', $3, $4 FROM patients WHERE id = $1`,
    [patientId, randomUUID(), code, date],
  );
}

export async function addHes(
  sql: Client,
  loadId: string,
  r: { nhs: string | null; patientId?: string | null; diag?: string; date?: string; step?: number | null },
): Promise<void> {
  await sql.query(
    `INSERT INTO hes_episodes (epikey, nhs_number, birth_date, sex, postcode, admission_date, diagnosis_icd10, provider_code, load_id, patient_id, linkage_step)
     VALUES ($1, $2, '1970-05-17', 'F', 'LS2 9JT', $3, $4, 'RR8', $5, $6, $7)`,
    [
      randomUUID().replace(/-/g, '').slice(0, 20),
      r.nhs,
      r.date ?? '2013-06-01',
      r.diag ?? 'I63.9',
      loadId,
      r.patientId ?? null,
      r.patientId ? (r.step ?? 1) : null,
    ],
  );
}

export async function addSocialCare(
  sql: Client,
  loadId: string,
  r: { nhs: string | null; patientId?: string | null; date?: string },
): Promise<void> {
  await sql.query(
    `INSERT INTO social_care_records (la_code, person_id, nhs_number, birth_date, sex, postcode, service_type, start_date, load_id, patient_id, linkage_step)
     VALUES ('E08000035', $1, $2, '1970-05-17', 'F', 'LS3 1AA', 'home_care', $3, $4, $5, $6)`,
    [randomUUID(), r.nhs, r.date ?? '2013-01-01', loadId, r.patientId ?? null, r.patientId ? 2 : null],
  );
}

export async function addObjection(
  sql: Client,
  nhs: string,
  type: 'type1' | 'type2',
  action: 'register' | 'withdraw' = 'register',
  opts: { effectiveOn?: string; recordedAt?: string } = {},
): Promise<void> {
  await sql.query(
    `INSERT INTO objection_events (nhs_number, type, action, effective_on, recorded_at, source)
     VALUES ($1, $2, $3, $4, COALESCE($5::timestamptz, now()), 'api')`,
    [nhs, type, action, opts.effectiveOn ?? '2014-01-01', opts.recordedAt ?? null],
  );
}

export function spec(
  over: Partial<ReleaseSpec> & Pick<ReleaseSpec, 'recipients' | 'requestedBy'>,
): ReleaseSpec {
  return {
    bidId: randomUUID(),
    organisationId: randomUUID(),
    agreementReference: 'DSA-TEST-1',
    tier: 'pseudonymised',
    legalBasis: 's251',
    datasets: [{ dataset: 'gp', fields: ['nhs_number', 'code', 'event_date'] }],
    cohort: {},
    ...over,
  };
}

/**
 * The engine tests drive ReleaseService directly with a spec; the bid behind it must exist and be
 * active with its agreement in force (downloads check it; the register line refers to it).
 */
export async function ensureActiveBid(t: TestApp, s: ReleaseSpec): Promise<void> {
  const owner = s.recipients[0] ?? s.requestedBy;
  // Recipients are researchers of the bid's organisation (downloads check it): the bid belongs to
  // the first recipient's organisation where that recipient has one.
  const { rows: ownerOrg } = await t.sql.query(
    `SELECT organisation_id FROM users WHERE id = $1 AND organisation_id IS NOT NULL`,
    [owner],
  );
  if (ownerOrg[0]) s.organisationId = ownerOrg[0].organisation_id;
  await t.sql.query(
    `INSERT INTO organisations (id, name, kind) VALUES ($1, $2, 'academic') ON CONFLICT DO NOTHING`,
    [s.organisationId, `Org ${s.organisationId}`],
  );
  const aggregation = s.aggregation ?? (s.tier === 'aggregate' ? { dimensions: [] } : null);
  await t.sql.query(
    `INSERT INTO bids (id, organisation_id, created_by, state, title, purpose, public_benefit, legal_basis, requested_tier, granted_tier, datasets, cohort, aggregation, duration_months, recipients, submitted_at)
     VALUES ($1, $2, $3, 'active', 'Engine test', 'Testing', 'Tests', $4, $5, $5, $6, $7, $8, 12, $9, now()) ON CONFLICT DO NOTHING`,
    [
      s.bidId,
      s.organisationId,
      owner,
      s.legalBasis,
      s.tier,
      JSON.stringify(s.datasets),
      JSON.stringify(s.cohort),
      aggregation ? JSON.stringify(aggregation) : null,
      s.recipients,
    ],
  );
  await t.sql.query(
    `INSERT INTO agreements (bid_id, number, year, reference, status, tier, duration_months, start_date, end_date)
     SELECT $1::uuid, nextval('agreement_number_seq'), 2026, $3, 'active', $2, 12, current_date - 1, current_date + 365
      WHERE NOT EXISTS (SELECT 1 FROM agreements WHERE bid_id = $1::uuid)`,
    [s.bidId, s.tier, `DSA-T-${s.bidId.replace(/-/g, '').slice(0, 32)}`],
  );
}

/** Requests a release through the service and waits for the in-process worker to finish it. */
export async function runRelease(
  t: TestApp,
  s: ReleaseSpec,
  actor: { id: string; roles: string[] },
): Promise<{ id: string; state: string; failure_reason: string | null }> {
  await ensureActiveBid(t, s);
  const { id } = await t.app.get(ReleaseService).request(s, actor as never);
  return waitForRelease(t, id);
}

/**
 * Polls the release's state until it is completed or failed. Every 20 ms (a read by primary key):
 * at 100 ms each of the suite's releases waited 50 ms on average after it had finished.
 */
export async function waitForRelease(t: TestApp, id: string, timeoutMs = 30_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await t.sql.query(`SELECT id, state, failure_reason FROM releases WHERE id = $1`, [id]);
    if (rows[0] && (rows[0].state === 'completed' || rows[0].state === 'failed')) return rows[0];
    if (Date.now() > until) throw new Error(`release ${id} did not finish: ${rows[0]?.state}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const binary = (res: NodeJS.ReadableStream, cb: (err: Error | null, body: Buffer) => void) => {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => cb(null, Buffer.concat(chunks)));
};

export async function download(
  t: TestApp,
  auth: Record<string, string>,
  id: string,
  name: string,
  headers: Record<string, string> = {},
) {
  return t.http
    .get(`/api/releases/${id}/files/${name}`)
    .set(auth)
    .set(headers)
    .buffer(true)
    .parse(binary as never);
}

/** A downloaded gzip CSV as header + rows (test data never holds commas or quotes). */
export function parseCsvGz(body: Buffer): { header: string[]; rows: Record<string, string>[] } {
  const text = gunzipSync(body).toString('utf8');
  const [head, ...lines] = text.split('\n').filter((l) => l.length > 0);
  const header = head.split(',');
  return { header, rows: lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [header[i], v]))) };
}

export const hmacHex = (key: Buffer, nhs: string) => createHmac('sha256', key).update(nhs).digest('hex');

/** `patients` GP patients (NHS numbers 9400000001…) with `events` observations each, set-based. */
export async function seedGpPopulation(sql: Client, patients: number, events: number): Promise<void> {
  await sql.query(
    `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id)
     SELECT (9400000000 + g)::text, DATE '1940-01-01' + (g % 25000), 'F', 'LS1 4AP', 'A', 'A81001', g::text
       FROM generate_series(1, $1::int) g`,
    [patients],
  );
  await sql.query(
    `INSERT INTO gp_events (patient_id, practice_ods, resource_type, resource_id, code_system, code, event_date)
     SELECT p.id, p.practice_ods, 'observation', 'o' || g, 'snomed', (100000 + g)::text, DATE '2010-01-01' + g
       FROM patients p CROSS JOIN generate_series(1, $1::int) g`,
    [events],
  );
}

/**
 * Persons `from`…`to` of practice A81001 (NHS numbers `base + n`, source ids `n`, the same birth date,
 * sex and postcode), each with one condition in 2012, set-based: the differencing tests' persons.
 */
export async function addGpPersons(sql: Client, from: number, to: number, base: number): Promise<void> {
  await sql.query(
    `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id)
     SELECT ($3::bigint + g)::text, DATE '1960-01-01', 'F', 'LS1 4AP', 'A', 'A81001', g::text
       FROM generate_series($1::int, $2::int) g`,
    [from, to, base],
  );
  await sql.query(
    `INSERT INTO gp_events (patient_id, practice_ods, resource_type, resource_id, code_system, code, event_date)
     SELECT p.id, p.practice_ods, 'condition', 'r' || p.source_id, 'snomed', '22298006', DATE '2012-01-01'
       FROM patients p WHERE p.source_id::int BETWEEN $1 AND $2`,
    [from, to],
  );
}

/** A release directory as it stands: its file names, and its manifest once every listed file is checked against its SHA-256 and size. */
export function readVerifiedRelease(dir: string): {
  names: string[];
  manifest: { files: { name: string; rows: number; bytes: number; sha256: string }[] };
} {
  const names = readdirSync(dir).sort();
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  for (const f of manifest.files) {
    const bytes = readFileSync(path.join(dir, f.name));
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(f.sha256);
    expect(bytes.length).toBe(f.bytes);
  }
  return { names, manifest };
}

/**
 * A researcher of a new organisation. Aggregate releases to one organisation are compared with each
 * other by the differencing guard (#25); a test that is not about it gives each table its own
 * recipient organisation.
 */
export async function otherOrganisationRecipient(
  t: TestApp,
): Promise<{ id: string; auth: Record<string, string> }> {
  const r = await t.as('researcher');
  return { id: r.user.id, auth: r.auth };
}

/**
 * fast-check settings of a property whose every run is a whole release (seconds each): no
 * shrinking, which would run releases until the test's time ran out and leave the last ones running
 * into the next test's `TRUNCATE` (a deadlock); the failure is reported with its counterexample,
 * seed and path, and `PROPS_SEED` / `PROPS_PATH` replay it (docs/DEVELOPING.md).
 */
export function releaseRuns(numRuns: number): {
  numRuns: number;
  endOnFailure: true;
  seed?: number;
  path?: string;
} {
  return {
    numRuns,
    endOnFailure: true,
    ...(process.env.PROPS_SEED ? { seed: Number(process.env.PROPS_SEED), path: process.env.PROPS_PATH } : {}),
  };
}

/** A small deterministic PRNG (mulberry32), so that a failing run can be repeated with its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * An aggregate table that a consistently wrong engine would have written: a copy of the release's
 * folder whose table shows data row `row` (1-based) `by` more, recompressed, with no manifest.json,
 * and the file list the producer would pass with it (its new size and hash); the release's cell
 * ledger is moved by `by` too, until `undo`. The integrity checks and the ledger's "describes the
 * file" then pass: only a recount of the cell can tell. (The caller removes `dir`.)
 */
export async function aggregateCountMoved(
  t: TestApp,
  releaseId: string,
  row: number,
  by: number,
): Promise<TamperedAggregate> {
  const copy = await aggregateRewritten(t, releaseId, (lines) => {
    const cells = lines[row].split(',');
    cells[cells.length - 1] = String(Number(cells[cells.length - 1]) + by);
    lines[row] = cells.join(',');
    return lines;
  });
  const shift = (n: number) =>
    t.sql.query(
      `UPDATE release_aggregate_cells
          SET n = n + $3, shown_as = CASE WHEN shown_as = '*' THEN '*' ELSE (shown_as::int + $3)::text END
        WHERE release_id = $1 AND i = $2`,
      [releaseId, row - 1, n],
    );
  await shift(by);
  return { ...copy, undo: async () => void (await shift(-by)) };
}

/**
 * Like `aggregateCountMoved`, but the table's data row `row` (1-based) is left out of the copy, and
 * out of the release's cell ledger until `undo`: a table of one dimension that left a value out.
 */
export async function aggregateRowDropped(
  t: TestApp,
  releaseId: string,
  row: number,
): Promise<TamperedAggregate> {
  const copy = await aggregateRewritten(t, releaseId, (lines) => lines.filter((_, i) => i !== row));
  const { rows: saved } = await t.sql.query(
    `DELETE FROM release_aggregate_cells WHERE release_id = $1 AND i = $2 RETURNING *`,
    [releaseId, row - 1],
  );
  // Two steps: the key (release_id, i) is checked row by row.
  const renumber = async (from: number, by: number) => {
    await t.sql.query(
      `UPDATE release_aggregate_cells SET i = i + 1000000 WHERE release_id = $1 AND i >= $2`,
      [releaseId, from],
    );
    await t.sql.query(
      `UPDATE release_aggregate_cells SET i = i - 1000000 + $2 WHERE release_id = $1 AND i >= 1000000`,
      [releaseId, by],
    );
  };
  await renumber(row, -1);
  return {
    ...copy,
    undo: async () => {
      await renumber(row - 1, 1);
      const r = saved[0];
      const columns = Object.keys(r);
      await t.sql.query(
        `INSERT INTO release_aggregate_cells (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`,
        columns.map((c) => (typeof r[c] === 'object' && r[c] !== null ? JSON.stringify(r[c]) : r[c])),
      );
    },
  };
}

interface TamperedAggregate {
  dir: string;
  files: { name: string; rows: number; bytes: number; sha256: string }[];
  undo: () => Promise<void>;
}

/** A copy of the release's folder with its table's lines rewritten, and the producer's file list for it. */
const aggregateRewritten = (t: TestApp, releaseId: string, rewrite: (lines: string[]) => string[]) =>
  releaseRewritten(t, releaseId, 'aggregate.csv.gz', rewrite);

/**
 * A copy of the release's folder (no manifest.json) with file `name`'s lines rewritten (the header
 * first, then one a row, the last empty where the file ends in a line break), and the file list
 * the producer would pass with it: its new rows, size and hash. The caller removes `dir`.
 */
export async function releaseRewritten(
  t: TestApp,
  releaseId: string,
  name: string,
  rewrite: (lines: string[]) => string[],
): Promise<Omit<TamperedAggregate, 'undo'>> {
  const dir = mkdtempSync(path.join(tmpdir(), 'verify-copy-'));
  cpSync(t.app.get(ReleaseEngine).dirOf(releaseId), dir, { recursive: true });
  rmSync(path.join(dir, 'manifest.json'));
  const file = path.join(dir, name);
  const original = gunzipSync(readFileSync(file)).toString('utf8').split('\n');
  const lines = rewrite([...original]);
  const bytes = gzipSync(Buffer.from(lines.join('\n')));
  writeFileSync(file, bytes);
  const { rows: recorded } = await t.sql.query(
    `SELECT name, rows::int AS rows, bytes::int AS bytes, sha256 FROM release_files
      WHERE release_id = $1 AND name <> 'manifest.json' ORDER BY name`,
    [releaseId],
  );
  const files = recorded.map((f) =>
    f.name === name
      ? {
          ...f,
          rows: f.rows - (original.length - lines.length),
          bytes: bytes.length,
          sha256: createHash('sha256').update(bytes).digest('hex'),
        }
      : f,
  );
  return { dir, files };
}

/** What the engine calls the verifier with in the app under test: its keys, k, m, the cap, the minimum population. */
export function verifierDeps(t: TestApp): Required<VerifyDeps> {
  const config = t.app.get<AppConfig>(APP_CONFIG);
  return {
    keys: t.app.get(ReleaseKeys),
    anonK: config.anonK,
    anonM: config.anonM,
    anonMaxSuppression: config.anonMaxSuppression,
    aggMinPopulation: config.aggMinPopulation,
    aggMinPopulationMargin: config.aggMinPopulationMargin,
  };
}

/**
 * The rows of `nhs` in an identifiable GP release (s251: Type 2 objectors excluded, Type 1 too) to
 * a researcher, run now: 0 when the release treats the number as an objector's (or holds nothing).
 */
export async function gpRowsReleasedFor(t: TestApp, nhs: string): Promise<number> {
  const officer = await t.as('release_officer');
  const researcher = await t.as('researcher');
  const rel = await runRelease(
    t,
    spec({
      tier: 'identifiable',
      legalBasis: 's251',
      datasets: [{ dataset: 'gp', fields: ['nhs_number', 'code'] }],
      recipients: [researcher.user.id],
      requestedBy: officer.user.id,
    }),
    { id: officer.user.id, roles: officer.user.roles },
  );
  expect(rel.state).toBe('completed');
  const file = await download(t, researcher.auth, rel.id, 'gp.csv.gz');
  return parseCsvGz(file.body as Buffer).rows.filter((r) => r.nhs_number === nhs).length;
}
