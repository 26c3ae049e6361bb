import { rmSync } from 'node:fs';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { createTestApp, TestApp } from '@custodian/testing';
import { VerificationFailure, verifyRelease } from '../libs/release/src/verifier/verify-release';
import {
  addHes,
  addObjection,
  newLoad,
  runRelease,
  seedPractice,
  spec,
  verifierDeps,
  releaseRewritten,
} from './release-helpers';

/**
 * Probe 42 (SPEC §5 step 2, step 6). Probe 33 recounted files without a person column; a file with
 * one (`pseudo_id`) is checked by who appears in it, not by how many rows each person has: an
 * objector's GP event shown under a released person's `pseudo_id` (an engine bug joining events to
 * the wrong patient; simulated by one more row alike to the person's own) verified.
 */
describe('probe 42: the verifier counts the rows of files with a person column too', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[] };
  let researcher: { id: string };
  const ODS = 'K90426';
  const PERSONS = 30;
  const objector = String(9542600000 + PERSONS + 1);

  beforeAll(async () => {
    t = await createTestApp();
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles };
    researcher = { id: (await t.as('researcher')).user.id };
    await seedPractice(t.sql, ODS);
    await t.sql.query(
      `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id)
       SELECT (9542600000 + g)::text, DATE '1970-05-17', 'F', 'LS1 4AP', 'A', $1, g::text
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

  /** Verifies a copy of the release with `name`'s rows rewritten (release-helpers `releaseRewritten`). */
  async function verifyRewritten(id: string, name: string, rewrite: (lines: string[]) => string[]) {
    const db = t.app.get<DataSource>(getDataSourceToken());
    const control = await releaseRewritten(t, id, name, (lines) => lines);
    try {
      await expect(
        verifyRelease(control.dir, { id, files: control.files }, db, verifierDeps(t)),
      ).resolves.toMatchObject({
        verified: true,
      });
    } finally {
      rmSync(control.dir, { recursive: true, force: true });
    }
    const copy = await releaseRewritten(t, id, name, ([head, ...rest]) => [
      head,
      ...rewrite(rest.filter(Boolean)),
      '',
    ]);
    try {
      return await verifyRelease(copy.dir, { id, files: copy.files }, db, verifierDeps(t)).then(
        () => undefined,
        (e: unknown) => e,
      );
    } finally {
      rmSync(copy.dir, { recursive: true, force: true });
    }
  }

  it('an objector’s GP and HES rows shown under a released person’s pseudo_id are refused', async () => {
    const rel = await runRelease(
      t,
      spec({
        tier: 'pseudonymised',
        datasets: [
          { dataset: 'gp', fields: ['nhs_number', 'code', 'event_date'] },
          { dataset: 'hes', fields: ['nhs_number', 'admission_date', 'diagnosis_icd10'] },
        ],
        cohort: { practices: [ODS] },
        recipients: [researcher.id],
        requestedBy: officer.id,
      }),
      officer,
    );
    expect(rel.failure_reason).toBeNull();
    // The objector's event (the same code and date as everyone's: nothing in the row tells it).
    const gp = await verifyRewritten(rel.id, 'gp.csv.gz', (lines) => [lines[0], ...lines]);
    expect(gp).toBeInstanceOf(VerificationFailure);
    expect((gp as Error).message).toMatch(/^objections: gp.csv.gz/);
    const hes = await verifyRewritten(rel.id, 'hes.csv.gz', (lines) => [lines[0], ...lines]);
    expect(hes).toBeInstanceOf(VerificationFailure);
    expect((hes as Error).message).toMatch(/^objections: hes.csv.gz/);
  });
});
