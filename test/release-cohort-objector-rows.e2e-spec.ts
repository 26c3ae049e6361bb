import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createTestApp, TestApp } from '@custodian/testing';
import { ReleaseEngine } from '@custodian/release';
import {
  addEvent,
  addHes,
  addObjection,
  addPatient,
  newLoad,
  runRelease,
  seedPractice,
  spec,
} from './release-helpers';

/**
 * A cohort by condition code never selects a patient through an objector's own hospital row
 * linked to them (SPEC §5 step 2: such a row is counted nowhere and released nowhere). Found by the
 * verifier's aggregate recount property test (#19): the engine's filter read every HES row linked to
 * the patient, the objector's included.
 */
describe('release cohort: an objector’s own row selects no one', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[] };
  let researcher: { id: string };
  const Y = '9100000101'; // selected only through the objector's row
  const Z = '9100000102'; // selected by a row of their own
  const OBJ = '9100000103'; // a Type 1 objector whose HES row was linked to Y

  beforeAll(async () => {
    t = await createTestApp();
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles };
    researcher = { id: (await t.as('researcher')).user.id };
    await seedPractice(t.sql);
    const y = await addPatient(t.sql, { nhs: Y });
    const z = await addPatient(t.sql, { nhs: Z });
    await addEvent(t.sql, y);
    await addEvent(t.sql, z);
    const hes = await newLoad(t.sql, 'hes');
    await addHes(t.sql, hes, { nhs: OBJ, patientId: y, diag: 'I63.9' });
    await addHes(t.sql, hes, { nhs: Z, patientId: z, diag: 'I63.9' });
    await addObjection(t.sql, OBJ, 'type1');
  });
  afterAll(async () => {
    await t?.close();
  });

  it.each([
    ['identifiable', 's251'],
    ['identifiable', 'statutory'],
  ] as const)(
    '%s release (%s) of the patients with I63.9: the one with a row of their own only',
    async (tier, legalBasis) => {
      const rel = await runRelease(
        t,
        spec({
          tier,
          legalBasis,
          datasets: [{ dataset: 'gp', fields: ['nhs_number', 'code', 'event_date'] }],
          cohort: { conditionCodes: ['I63.9'] },
          recipients: [researcher.id],
          requestedBy: officer.id,
        }),
        officer,
      );
      expect(rel).toMatchObject({ state: 'completed', failure_reason: null });
      const dir = t.app.get(ReleaseEngine).dirOf(rel.id);
      const gp = gunzipSync(readFileSync(path.join(dir, 'gp.csv.gz'))).toString();
      expect(gp).toContain(Z);
      expect(gp).not.toContain(Y);
    },
  );
});
