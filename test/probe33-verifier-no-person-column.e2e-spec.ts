import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { createTestApp, TestApp } from '@custodian/testing';
import { ReleaseEngine } from '@custodian/release';
import { VerificationFailure, verifyRelease } from '../libs/release/src/verifier/verify-release';
import {
  addHes,
  addObjection,
  newLoad,
  runRelease,
  seedPractice,
  spec,
  verifierDeps,
} from './release-helpers';

/**
 * Probe 33 (SPEC §5 step 2: no objector in any file of a record-level tier; step 6: the verifier
 * checks every rule). A file without a person column (a pseudonymised GP or HES file of codes and
 * dates only) names nobody, so the verifier's objector checks — by identifier, by episode key —
 * never ran on it: an objector's rows added to it (an engine bug) verified. The verifier now counts
 * what such a file may hold from the database — the rows of the persons its ledger says it
 * released, less rows whose own NHS number is an objector's — and the ledger's persons must hold no
 * objector.
 */
describe('probe 33: the verifier checks files without a person column for objectors’ rows', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[] };
  let researcher: { id: string };
  const ODS = 'K90334';
  const PERSONS = 30;
  const objector = String(9533400000 + PERSONS + 1);

  beforeAll(async () => {
    t = await createTestApp();
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles };
    researcher = { id: (await t.as('researcher')).user.id };
    await seedPractice(t.sql, ODS);
    await t.sql.query(
      `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id)
       SELECT (9533400000 + g)::text, DATE '1970-05-17', 'F', 'LS1 4AP', 'A', $1, g::text
         FROM generate_series(1, $2::int) g`,
      [ODS, PERSONS + 1],
    );
    await t.sql.query(
      `INSERT INTO gp_events (patient_id, practice_ods, resource_type, resource_id, code_system, code, event_date)
       SELECT id, practice_ods, 'condition', 'c' || id, 'snomed', '22298006', DATE '2012-03-04'
         FROM patients WHERE practice_ods = $1`,
      [ODS],
    );
    const load = await newLoad(t.sql, 'hes');
    const { rows } = await t.sql.query(`SELECT id, nhs_number FROM patients WHERE practice_ods = $1`, [ODS]);
    for (const p of rows) await addHes(t.sql, load, { nhs: p.nhs_number, patientId: p.id });
    await addObjection(t.sql, objector, 'type2');
  });
  afterAll(() => t?.close());

  /** Verifies a copy of the release with `file` rewritten (the producer's list carries its new bytes and rows). */
  async function verifyRewritten(id: string, name: string, rewrite: (lines: string[]) => string[]) {
    const deps = verifierDeps(t);
    const db = t.app.get<DataSource>(getDataSourceToken());
    const dir = mkdtempSync(path.join(tmpdir(), 'probe33-noperson-'));
    try {
      cpSync(t.app.get(ReleaseEngine).dirOf(id), dir, { recursive: true });
      await expect(verifyRelease(dir, { id }, db, deps)).resolves.toMatchObject({ verified: true });
      rmSync(path.join(dir, 'manifest.json'));
      const file = path.join(dir, name);
      const [head, ...lines] = gunzipSync(readFileSync(file)).toString('utf8').split('\n').filter(Boolean);
      const out = [head, ...rewrite(lines)];
      const bytes = gzipSync(Buffer.from(out.join('\n') + '\n'));
      writeFileSync(file, bytes);
      const { rows } = await t.sql.query(
        `SELECT name, rows::int AS rows, bytes::int AS bytes, sha256 FROM release_files
          WHERE release_id = $1 AND name <> 'manifest.json'`,
        [id],
      );
      const files = rows.map((f) =>
        f.name === name
          ? {
              ...f,
              rows: out.length - 1,
              bytes: bytes.length,
              sha256: createHash('sha256').update(bytes).digest('hex'),
            }
          : f,
      );
      return await verifyRelease(dir, { id, files }, db, deps).then(
        () => undefined,
        (e: unknown) => e,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('an objector’s GP and HES rows added to files of codes and dates are refused', async () => {
    const rel = await runRelease(
      t,
      spec({
        tier: 'pseudonymised',
        datasets: [
          { dataset: 'gp', fields: ['code', 'event_date'] },
          { dataset: 'hes', fields: ['admission_date', 'diagnosis_icd10'] },
        ],
        cohort: { practices: [ODS] },
        recipients: [researcher.id],
        requestedBy: officer.id,
      }),
      officer,
    );
    expect(rel.failure_reason).toBeNull();
    // The objector's event (the same code and date as everyone's: nothing in the row tells it).
    const gp = await verifyRewritten(rel.id, 'gp.csv.gz', (lines) => [...lines, '22298006,2012-03-04']);
    expect(gp).toBeInstanceOf(VerificationFailure);
    expect((gp as Error).message).toMatch(/^objections: gp.csv.gz/);
    const hes = await verifyRewritten(rel.id, 'hes.csv.gz', (lines) => [...lines, lines[0]]);
    expect(hes).toBeInstanceOf(VerificationFailure);
    expect((hes as Error).message).toMatch(/^objections: hes.csv.gz/);
  });
});
