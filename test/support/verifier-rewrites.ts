import { rmSync } from 'node:fs';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { TestApp } from '@custodian/testing';
import { verifyRelease } from '../../libs/release/src/verifier/verify-release';
import {
  addHes,
  addObjection,
  newLoad,
  releaseRewritten,
  seedPractice,
  verifierDeps,
} from '../release-helpers';

/**
 * The verifier tests' population of persons alike (probe 33, probe 42): practice `ods`, `persons`
 * women born 1970-05-17 at LS1 4AP with NHS numbers `base + 1…`, one GP condition and one linked HES
 * episode each, and one more of them (`base + persons + 1`) an active Type 2 objector. Returns the
 * objector's NHS number.
 */
export async function seedAlikePersons(
  t: TestApp,
  ods: string,
  base: number,
  persons: number,
): Promise<string> {
  await seedPractice(t.sql, ods);
  await t.sql.query(
    `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id)
     SELECT ($3::bigint + g)::text, DATE '1970-05-17', 'F', 'LS1 4AP', 'A', $1, g::text
       FROM generate_series(1, $2::int) g`,
    [ods, persons + 1, base],
  );
  await t.sql.query(
    `INSERT INTO gp_events (patient_id, practice_ods, resource_type, resource_id, code_system, code, event_date)
     SELECT id, practice_ods, 'condition', 'c' || id, 'snomed', '22298006', DATE '2012-03-04'
       FROM patients WHERE practice_ods = $1`,
    [ods],
  );
  const load = await newLoad(t.sql, 'hes');
  const { rows } = await t.sql.query(`SELECT id, nhs_number FROM patients WHERE practice_ods = $1`, [ods]);
  for (const p of rows) await addHes(t.sql, load, { nhs: p.nhs_number, patientId: p.id });
  const objector = String(base + persons + 1);
  await addObjection(t.sql, objector, 'type2');
  return objector;
}

/**
 * Verifies a copy of release `id` with `name`'s data rows rewritten (`releaseRewritten`), after
 * checking that an untouched copy verifies: the verifier's error, or undefined where it verified.
 */
export async function verifyRewritten(
  t: TestApp,
  id: string,
  name: string,
  rewrite: (lines: string[]) => string[],
): Promise<unknown> {
  const db = t.app.get<DataSource>(getDataSourceToken());
  const control = await releaseRewritten(t, id, name, (lines) => lines);
  try {
    const ok = await verifyRelease(control.dir, { id, files: control.files }, db, verifierDeps(t));
    if (!ok.verified) throw new Error('the untouched copy did not verify');
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
