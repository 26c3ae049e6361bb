import { createTestApp, TestApp } from '@custodian/testing';
import {
  addObjection,
  addPatient,
  download,
  otherOrganisationRecipient,
  parseCsvGz,
  runRelease,
  seedPractice,
  spec,
} from './release-helpers';

/**
 * Review 27 of 952149e (probe 27, finding 4). The fix shows 0-7 alike as `*` in the public risk
 * report, so that `*` no longer means "someone is here". The manifest that the recipient downloads
 * still shows k-anonymity's suppressed persons with
 * `shownCount`: `0` for none, `*` for 1-7. SPEC §5 step 4: counts of persons a researcher sees
 * anywhere (manifest included) follow the aggregate rule, and `*` must not mean "someone is here".
 *
 * The attacker knows that the target is the practice's only man (a rare class: k-anonymity
 * suppresses him) and that everyone else shares one class. `suppressed: '*'` says the target is in
 * the cohort (no Type 2 objection); `suppressed: 0` says he objected. The public risk report of the
 * same releases says `*` for both: the manifest undoes that fix for the recipient.
 */
describe('review 27: the anonymised manifest tells a suppressed person from an objector', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[] };
  const ODS = 'K92701';
  const TARGET = '9527100999';

  beforeAll(async () => {
    t = await createTestApp();
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles };
    await seedPractice(t.sql, ODS);
    await t.sql.query(
      `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id)
       SELECT (9527100000 + g)::text, DATE '1970-05-17', 'F', 'LS1 4AP', 'A', $1, g::text
         FROM generate_series(1, 60) g`,
      [ODS],
    );
    await addPatient(t.sql, {
      nhs: TARGET,
      birth: '1931-02-03',
      sex: 'M',
      postcode: 'YO1 7HH',
      ethnicity: 'R',
      practice: ODS,
    });
    // Everyone has a GP record (one common event).
    await t.sql.query(
      `INSERT INTO gp_events (patient_id, practice_ods, resource_type, resource_id, code_system, code, event_date)
       SELECT id, practice_ods, 'condition', 'c' || id, 'snomed', '22298006', DATE '2012-03-04'
         FROM patients WHERE practice_ods = $1`,
      [ODS],
    );
  });
  afterAll(() => t?.close());

  /** An anonymised release of the practice to a new organisation (no differencing guard at play). */
  const release = async () => {
    const r = await otherOrganisationRecipient(t);
    const rel = await runRelease(
      t,
      spec({
        tier: 'anonymised',
        legalBasis: 'none',
        datasets: [
          { dataset: 'gp', fields: ['nhs_number', 'date_of_birth', 'postcode', 'sex', 'ethnicity'] },
        ],
        cohort: { practices: [ODS] },
        recipients: [r.id],
        requestedBy: officer.id,
      }),
      officer,
    );
    expect(rel.failure_reason).toBeNull();
    const manifest = JSON.parse((await download(t, r.auth, rel.id, 'manifest.json')).body.toString('utf8'));
    const view = (await t.http.get(`/api/releases/${rel.id}`).set(r.auth).expect(200)).body;
    const dl = await download(t, r.auth, rel.id, 'gp.csv.gz');
    const rows = parseCsvGz(dl.body).rows;
    return { manifest, view, rows };
  };
  const shown = (m: { kAnonymity: Record<string, unknown> }) => ({
    suppressed: m.kAnonymity.suppressed,
    suppressedByFile: m.kAnonymity.suppressedByFile,
    removedByFile: m.kAnonymity.removedByFile,
  });

  it('the recipient cannot tell from the manifest whether the one rare person objected', async () => {
    // World 1: the target has not objected; he is alone in his class and suppressed.
    const present = await release();
    expect(present.rows.length).toBe(60);
    // World 2: the target has a Type 2 objection; the file is the same 60 rows.
    await addObjection(t.sql, TARGET, 'type2', 'register', { effectiveOn: '2020-01-01' });
    const objected = await release();
    expect(objected.rows.length).toBe(60);
    // The public risk report (recipient's view) already shows both alike.
    expect(objected.view.riskReport.suppressed).toEqual(present.view.riskReport.suppressed);
    // Today: { suppressed: '*', … } against { suppressed: 0, … } — the objection, told by the manifest.
    expect(shown(objected.manifest)).toEqual(shown(present.manifest));
  });
});
