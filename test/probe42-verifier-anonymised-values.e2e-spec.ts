import { rmSync } from 'node:fs';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { createTestApp, TestApp } from '@custodian/testing';
import { VerificationFailure, verifyRelease } from '../libs/release/src/verifier/verify-release';
import {
  download,
  parseCsvGz,
  releaseRewritten,
  runRelease,
  seedPractice,
  spec,
  verifierDeps,
} from './release-helpers';

/**
 * Probe 42 (SPEC §5 step 3's tier table and step 6): in the anonymised tier the date of birth is
 * "age band, generalised as needed" — five-year (`40-44`), widened as generalisation needs — and
 * ethnicity is "generalised as needed (ethnic group)". The verifier held `age_band` only to "not a
 * full date": a file whose every `age_band` was the birth year and month (the pseudonymised
 * tier's `birth_year_month`), the exact age, or a band of one year passed, its classes still of k
 * or more. Likewise any text in `ethnicity`. Each edit is made to every row, so k-anonymity's
 * class counts cannot be what refuses it: only a rule on the value can.
 */
describe('probe 42: the verifier holds anonymised age bands and ethnicity to their ladders', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[] };
  let researcher: { id: string; auth: Record<string, string> };
  const ODS = 'K90421';
  const PERSONS = 60;

  beforeAll(async () => {
    t = await createTestApp();
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles };
    const r = await t.as('researcher');
    researcher = { id: r.user.id, auth: r.auth };
    await seedPractice(t.sql, ODS);
    // One demographic class of 60: k-anonymity keeps every ladder at its finest rung.
    await t.sql.query(
      `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id)
       SELECT (9542000000 + g)::text, DATE '1970-05-17', 'F', 'LS1 4AP', 'A', $1, g::text
         FROM generate_series(1, $2::int) g`,
      [ODS, PERSONS],
    );
    await t.sql.query(
      `INSERT INTO gp_events (patient_id, practice_ods, resource_type, resource_id, code_system, code, event_date)
       SELECT id, practice_ods, 'condition', 'c' || id, 'snomed', '22298006', DATE '2012-03-04'
         FROM patients WHERE practice_ods = $1`,
      [ODS],
    );
  });
  afterAll(() => t?.close());

  let releaseId: string | undefined;
  /** One anonymised release of the class, shared by the tests (its files are only read). */
  async function anonymised(): Promise<string> {
    if (releaseId) return releaseId;
    const rel = await runRelease(
      t,
      spec({
        tier: 'anonymised',
        legalBasis: 'none',
        datasets: [
          { dataset: 'gp', fields: ['nhs_number', 'date_of_birth', 'postcode', 'sex', 'ethnicity'] },
        ],
        cohort: { practices: [ODS] },
        recipients: [researcher.id],
        requestedBy: officer.id,
      }),
      officer,
    );
    expect(rel.failure_reason).toBeNull();
    releaseId = rel.id;
    return rel.id;
  }

  /** Verifies a copy of the release with column `column` of every data row of gp.csv.gz set to `value`. */
  async function verifyWith(column: string, value: string | null): Promise<unknown> {
    const id = await anonymised();
    const db = t.app.get<DataSource>(getDataSourceToken());
    const copy = await releaseRewritten(t, id, 'gp.csv.gz', (lines) => {
      const c = lines[0].split(',').indexOf(column);
      return lines.map((l, i) => {
        if (i === 0 || l === '' || value === null) return l;
        const f = l.split(',');
        f[c] = value;
        return f.join(',');
      });
    });
    try {
      return await verifyRelease(copy.dir, { id, files: copy.files }, db, verifierDeps(t)).then(
        () => undefined,
        (e: unknown) => e,
      );
    } finally {
      rmSync(copy.dir, { recursive: true, force: true });
    }
  }

  it('the release itself shows a five-year band and the ethnic category, and verifies unedited', async () => {
    const id = await anonymised();
    const { header, rows } = parseCsvGz((await download(t, researcher.auth, id, 'gp.csv.gz')).body);
    expect(header).toEqual(['person_token', 'age_band', 'area', 'sex', 'ethnicity']);
    expect(rows.length).toBe(PERSONS);
    expect(new Set(rows.map((r) => r.age_band)).size).toBe(1);
    expect(rows[0].age_band).toMatch(/^\d+-\d+$/);
    expect(await verifyWith('age_band', null)).toBeUndefined();
  });

  it.each([
    ['the birth year and month', '1970-05'],
    ['the exact age', '56'],
    ['a band of one year', '56-56'],
    ['a five-year band not on the ladder', '53-57'],
    ['free text', 'born in May'],
  ])('refuses an age_band that is %s', async (_what, value) => {
    const err = await verifyWith('age_band', value);
    expect(err).toBeInstanceOf(VerificationFailure);
    expect((err as Error).message).toMatch(
      /identifiers by tier: gp.csv.gz row 1: age_band is not an age band/,
    );
  });

  it.each([
    ['free text', 'Jane Doe'],
    ['two categories', 'AB'],
    ['a group not of the data dictionary', 'Romany'],
  ])('refuses an ethnicity that is %s', async (_what, value) => {
    const err = await verifyWith('ethnicity', value);
    expect(err).toBeInstanceOf(VerificationFailure);
    expect((err as Error).message).toMatch(
      /identifiers by tier: gp.csv.gz row 1: ethnicity is not an ethnic category or group/,
    );
  });
});
