import { createTestApp, TestApp } from '@custodian/testing';
import { seedAlikePersons, verifyRewritten } from './support/verifier-rewrites';
import { VerificationFailure } from '../libs/release/src/verifier/verify-release';
import { runRelease, spec } from './release-helpers';

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

  beforeAll(async () => {
    t = await createTestApp();
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles };
    researcher = { id: (await t.as('researcher')).user.id };
    await seedAlikePersons(t, ODS, 9542600000, PERSONS);
  });
  afterAll(() => t?.close());

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
    const gp = await verifyRewritten(t, rel.id, 'gp.csv.gz', (lines) => [lines[0], ...lines]);
    expect(gp).toBeInstanceOf(VerificationFailure);
    expect((gp as Error).message).toMatch(/^objections: gp.csv.gz/);
    const hes = await verifyRewritten(t, rel.id, 'hes.csv.gz', (lines) => [lines[0], ...lines]);
    expect(hes).toBeInstanceOf(VerificationFailure);
    expect((hes as Error).message).toMatch(/^objections: hes.csv.gz/);
  });
});
