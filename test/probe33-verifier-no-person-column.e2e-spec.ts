import { createTestApp, TestApp } from '@custodian/testing';
import { seedAlikePersons, verifyRewritten } from './support/verifier-rewrites';
import { VerificationFailure } from '../libs/release/src/verifier/verify-release';
import { runRelease, spec } from './release-helpers';

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

  beforeAll(async () => {
    t = await createTestApp();
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles };
    researcher = { id: (await t.as('researcher')).user.id };
    await seedAlikePersons(t, ODS, 9533400000, PERSONS);
  });
  afterAll(() => t?.close());

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
    const gp = await verifyRewritten(t, rel.id, 'gp.csv.gz', (lines) => [...lines, '22298006,2012-03-04']);
    expect(gp).toBeInstanceOf(VerificationFailure);
    expect((gp as Error).message).toMatch(/^objections: gp.csv.gz/);
    const hes = await verifyRewritten(t, rel.id, 'hes.csv.gz', (lines) => [...lines, lines[0]]);
    expect(hes).toBeInstanceOf(VerificationFailure);
    expect((hes as Error).message).toMatch(/^objections: hes.csv.gz/);
  });
});
