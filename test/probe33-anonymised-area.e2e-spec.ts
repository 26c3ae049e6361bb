import { rmSync } from 'node:fs';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { createTestApp, TestApp } from '@custodian/testing';
import { VerificationFailure, verifyRelease } from '../libs/release/src/verifier/verify-release';
import {
  download,
  parseCsvGz,
  runRelease,
  seedPractice,
  spec,
  verifierDeps,
  releaseRewritten,
} from './release-helpers';

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

  /** Verifies a copy of the release's files with gp.csv.gz's first row edited (release-helpers `releaseRewritten`). */
  async function verifyEdited(id: string, edit: (line: string) => string): Promise<unknown> {
    const db = t.app.get<DataSource>(getDataSourceToken());
    const control = await releaseRewritten(t, id, 'gp.csv.gz', (lines) => lines);
    try {
      await expect(
        verifyRelease(control.dir, { id, files: control.files }, db, verifierDeps(t)),
      ).resolves.toMatchObject({
        verified: true,
      });
    } finally {
      rmSync(control.dir, { recursive: true, force: true });
    }
    const copy = await releaseRewritten(t, id, 'gp.csv.gz', (lines) =>
      lines.map((l, i) => (i === 1 ? edit(l) : l)),
    );
    try {
      return await verifyRelease(copy.dir, { id, files: copy.files }, db, verifierDeps(t)).then(
        () => undefined,
        (e: unknown) => e,
      );
    } finally {
      rmSync(copy.dir, { recursive: true, force: true });
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
