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
import { download, parseCsvGz, runRelease, seedPractice, spec, verifierDeps } from './release-helpers';

/**
 * Probe 33 (SPEC §5 step 3's tier table): the postcode is "district (outward code)" in the
 * pseudonymised tier and "area or region, generalised as needed" in the anonymised tier. The
 * anonymised area ladder began at the district: a population that k-anonymity could keep at its
 * finest rung was released with the same outward code the pseudonymised tier shows (`LS1`), one
 * rung finer than the SPEC allows. The verifier refused only a full postcode there, and in the
 * pseudonymised `postcode_district` — a sector (`LS1 4`) passed both.
 */
describe('probe 33: the anonymised area is a postcode area or region, never a district', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[] };
  let researcher: { id: string; auth: Record<string, string> };
  const ODS = 'K90331';
  const PERSONS = 60;

  beforeAll(async () => {
    t = await createTestApp();
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles };
    const r = await t.as('researcher');
    researcher = { id: r.user.id, auth: r.auth };
    await seedPractice(t.sql, ODS);
    // One demographic class of 60 in one postcode district: k-anonymity needs no generalisation.
    await t.sql.query(
      `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id)
       SELECT (9533000000 + g)::text, DATE '1970-05-17', 'F', 'LS1 4AP', 'A', $1, g::text
         FROM generate_series(1, $2::int) g`,
      [ODS, PERSONS],
    );
    // Each with one GP event (a per-person file holds the persons with rows in the release).
    await t.sql.query(
      `INSERT INTO gp_events (patient_id, practice_ods, resource_type, resource_id, code_system, code, event_date)
       SELECT id, practice_ods, 'condition', 'c' || id, 'snomed', '22298006', DATE '2012-03-04'
         FROM patients WHERE practice_ods = $1`,
      [ODS],
    );
  });
  afterAll(() => t?.close());

  const release = (tier: 'anonymised' | 'pseudonymised') =>
    runRelease(
      t,
      spec({
        tier,
        legalBasis: tier === 'anonymised' ? 'none' : 's251',
        datasets: [{ dataset: 'gp', fields: ['nhs_number', 'date_of_birth', 'postcode', 'sex'] }],
        cohort: { practices: [ODS] },
        recipients: [researcher.id],
        requestedBy: officer.id,
      }),
      officer,
    );

  /** Verifies a copy of the release's files with one file edited (the producer's list carries its new bytes). */
  async function verifyEdited(id: string, edit: (line: string) => string): Promise<unknown> {
    const deps = verifierDeps(t);
    const db = t.app.get<DataSource>(getDataSourceToken());
    const dir = mkdtempSync(path.join(tmpdir(), 'probe33-area-'));
    try {
      cpSync(t.app.get(ReleaseEngine).dirOf(id), dir, { recursive: true });
      await expect(verifyRelease(dir, { id }, db, deps)).resolves.toMatchObject({ verified: true });
      rmSync(path.join(dir, 'manifest.json'));
      const file = path.join(dir, 'gp.csv.gz');
      const lines = gunzipSync(readFileSync(file)).toString('utf8').split('\n');
      lines[1] = edit(lines[1]);
      const bytes = gzipSync(Buffer.from(lines.join('\n')));
      writeFileSync(file, bytes);
      const { rows } = await t.sql.query(
        `SELECT name, rows::int AS rows, bytes::int AS bytes, sha256 FROM release_files
          WHERE release_id = $1 AND name <> 'manifest.json'`,
        [id],
      );
      const files = rows.map((f) =>
        f.name === 'gp.csv.gz'
          ? { ...f, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }
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

  it('an anonymised file shows the postcode area (or region), not the outward code', async () => {
    const rel = await release('anonymised');
    expect(rel.failure_reason).toBeNull();
    const { header, rows } = parseCsvGz((await download(t, researcher.auth, rel.id, 'gp.csv.gz')).body);
    expect(header).toContain('area');
    expect(rows.length).toBe(PERSONS);
    // Today: every row's area is `LS1`, the district the pseudonymised tier shows.
    expect(new Set(rows.map((r) => r.area))).toEqual(new Set(['LS']));
    const { rows: manifest } = await t.sql.query(`SELECT manifest FROM releases WHERE id = $1`, [rel.id]);
    expect(JSON.stringify(manifest[0].manifest)).not.toMatch(/"area":"district"/);
  });

  it('the verifier refuses an anonymised area that is a district', async () => {
    const rel = await release('anonymised');
    expect(rel.failure_reason).toBeNull();
    // person_token,age_band,area,sex: the area made the outward code.
    const err = await verifyEdited(rel.id, (line) => {
      const f = line.split(',');
      f[2] = 'LS1';
      return f.join(',');
    });
    expect(err).toBeInstanceOf(VerificationFailure);
    expect((err as Error).message).toMatch(
      /identifiers by tier: gp.csv.gz row 1: area is not a postcode area or region/,
    );
  });

  it('the verifier refuses a pseudonymised postcode_district that is more than an outward code', async () => {
    const rel = await release('pseudonymised');
    expect(rel.failure_reason).toBeNull();
    // pseudo_id,birth_year_month,postcode_district,sex: the district made the sector.
    const err = await verifyEdited(rel.id, (line) => {
      const f = line.split(',');
      f[2] = 'LS1 4';
      return f.join(',');
    });
    expect(err).toBeInstanceOf(VerificationFailure);
    expect((err as Error).message).toMatch(
      /identifiers by tier: gp.csv.gz row 1: postcode_district is not an outward code/,
    );
  });
});
