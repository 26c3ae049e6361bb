import { createTestApp, TestApp } from '@custodian/testing';
import {
  addEvent,
  addHes,
  addObjection,
  newLoad,
  addPatient,
  download,
  otherOrganisationRecipient,
  parseCsvGz,
  runRelease,
  seedPractice,
  spec,
} from './release-helpers';

/**
 * Probe 27 (issue #27 "a minimum population behind every aggregate release … refused with a reason
 * otherwise"; SPEC §5 step 5; docs/RELEASE.md "one person never adds a value, a row or a column").
 * The minimum population is an exact threshold on exact counts, and its refusal is an answer: a
 * population of exactly AGG_MIN_POPULATION with the target, AGG_MIN_POPULATION − 1 without, is
 * released or refused by that one person. The differencing guard was changed (threat 164) because
 * "refused or released" told one person's condition; this refusal tells it the same way.
 *
 * The attacker knows the target (the practice's only patient of 100) and has found, by earlier
 * refusals, a cohort of exactly 99 other persons with code X (e.g. `ageMax: 99` refused, the same
 * with one volunteer known to have X added released). Then one bid asks for the practice's persons
 * with code X: released means the centenarian has X, refused means they have not.
 */
describe('probe 27: the aggregate minimum-population refusal is a one-person oracle', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[] };
  const ODS = 'K90273';
  const X = '35489007'; // depressive disorder
  let target: string;

  beforeAll(async () => {
    t = await createTestApp();
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles };
    await seedPractice(t.sql, ODS);
    for (let i = 0; i < 99; i++) {
      const id = await addPatient(t.sql, { nhs: String(9527300000 + i), birth: '1975-02-01', practice: ODS });
      await addEvent(t.sql, id, X, '2020-01-10');
    }
    const born = await t.sql.query(`SELECT (current_date - interval '100 years 2 months')::date AS d`);
    target = await addPatient(t.sql, {
      nhs: '9527300999',
      birth: born.rows[0].d.toISOString().slice(0, 10),
      practice: ODS,
    });
    await addEvent(t.sql, target, '22298006', '2020-02-02'); // an event everyone can know of
  });
  afterAll(() => t?.close());

  const askForX = async () => {
    const r = await otherOrganisationRecipient(t); // a new organisation: no differencing guard at play
    const rel = await runRelease(
      t,
      spec({
        tier: 'aggregate',
        legalBasis: 'none',
        datasets: [{ dataset: 'gp', fields: ['code'] }],
        aggregation: { dimensions: [] },
        cohort: { practices: [ODS], conditionCodes: [X] },
        recipients: [r.id],
        requestedBy: officer.id,
      }),
      officer,
    );
    const view = (await t.http.get(`/api/releases/${rel.id}`).set(r.auth).expect(200)).body;
    const table =
      rel.state === 'completed'
        ? parseCsvGz((await download(t, r.auth, rel.id, 'aggregate.csv.gz')).body).rows
        : null;
    return { state: rel.state, failureReason: view.failureReason ?? null, table };
  };

  it('what the researcher gets does not depend on whether one person has the code', async () => {
    // World 1: the centenarian has X.
    await addEvent(t.sql, target, X, '2021-05-05');
    const withX = await askForX();
    // World 2: they have not.
    await t.sql.query(`DELETE FROM gp_events WHERE patient_id = $1 AND code = $2`, [target, X]);
    const withoutX = await askForX();
    // Today: { state: 'completed', table: [{ patients: '100' }] } against
    // { state: 'failed', failureReason: 'AGG_POPULATION_TOO_SMALL …' }.
    expect({ state: withoutX.state, released: withoutX.table !== null }).toEqual({
      state: withX.state,
      released: withX.table !== null,
    });
  });

  it('nor on whether one person is a Type 1 objector (their hospital rows counted nowhere)', async () => {
    // The target's admission is known to the attacker (a neighbour, a news story). 99 other
    // patients of the practice have hospital episodes, the target one more.
    const load = await newLoad(t.sql, 'hes');
    const { rows: others } = await t.sql.query(
      `SELECT id, nhs_number FROM patients WHERE practice_ods = $1 AND id <> $2`,
      [ODS, target],
    );
    for (const p of others) await addHes(t.sql, load, { nhs: p.nhs_number, patientId: p.id, diag: 'I63.9' });
    await addHes(t.sql, load, { nhs: '9527300999', patientId: target, diag: 'S72.0', date: '2021-08-14' });
    const askHes = async () => {
      const r = await otherOrganisationRecipient(t);
      const rel = await runRelease(
        t,
        spec({
          tier: 'aggregate',
          legalBasis: 'none',
          datasets: [{ dataset: 'hes', fields: ['diagnosis_icd10'] }],
          aggregation: { dimensions: [] },
          cohort: { practices: [ODS] },
          recipients: [r.id],
          requestedBy: officer.id,
        }),
        officer,
      );
      return rel.state;
    };
    const notObjecting = await askHes();
    await addObjection(t.sql, '9527300999', 'type1', 'register', { effectiveOn: '2020-01-01' });
    const objecting = await askHes();
    // Today: 'completed' (100 persons) before the Type 1 objection, 'failed' (99) after it.
    expect(objecting).toBe(notObjecting);
  });
});
