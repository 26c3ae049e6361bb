import { createTestApp, TestApp } from '@custodian/testing';
import { seedAlikePersons, verifyRewritten } from './support/verifier-rewrites';
import { VerificationFailure } from '../libs/release/src/verifier/verify-release';
import { runRelease, spec } from './release-helpers';

/**
 * Probe 42, after probe 33's finding 6 (SPEC §5 step 2: no objector in any file of a record-level
 * tier; step 6: the verifier checks every rule). Probe 33 made the verifier recount the files
 * without a person column of the identifiable and pseudonymised tiers from the database; the
 * anonymised tier's were left out (k- and kᵐ-anonymity take rows the recount cannot see), so an
 * objector's GP or HES row added to an anonymised file of codes and dates — alike to everyone's,
 * its class and items still of k or more — verified.
 */
describe('probe 42: the verifier checks anonymised files without a person column for objectors’ rows', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[] };
  let researcher: { id: string };
  const ODS = 'K90424';
  const PERSONS = 30;

  beforeAll(async () => {
    t = await createTestApp();
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles };
    researcher = { id: (await t.as('researcher')).user.id };
    await seedAlikePersons(t, ODS, 9542400000, PERSONS);
  });
  afterAll(() => t?.close());

  it('an objector’s GP and HES rows added to anonymised files of codes and dates are refused', async () => {
    const rel = await runRelease(
      t,
      spec({
        tier: 'anonymised',
        legalBasis: 'none',
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
    const gp = await verifyRewritten(t, rel.id, 'gp.csv.gz', (lines) => [...lines, lines[0]]);
    expect(gp).toBeInstanceOf(VerificationFailure);
    expect((gp as Error).message).toMatch(/^objections: gp.csv.gz/);
    const hes = await verifyRewritten(t, rel.id, 'hes.csv.gz', (lines) => [...lines, lines[0]]);
    expect(hes).toBeInstanceOf(VerificationFailure);
    expect((hes as Error).message).toMatch(/^objections: hes.csv.gz/);
  });
});
