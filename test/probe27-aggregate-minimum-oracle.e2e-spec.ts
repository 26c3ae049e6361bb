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

  /**
   * With the keyed margin (docs/RELEASE.md) a bid's threshold is AGG_MIN_POPULATION + 0–14: without
   * the target (99) every bid is refused, as before; with the target (100) a bid is released only
   * where its margin is 0 (1 in 15). A refusal no longer says the target lacks the code: most bids
   * of the world where they have it are refused too. What is left (a release says they have it, 1
   * bid in 15) is documented. Before, every bid of the world with the target was released. Of
   * BIDS bids at least half refused: wrong with a chance under 1 in 10,000 (binomial, p = 1/15).
   */
  const BIDS = 8;
  const refusedOf = (states: string[]) => states.filter((s) => s === 'failed').length;

  it('a refusal does not tell whether one person has the code', async () => {
    // World 2 first: the centenarian has not X — every bid refused.
    const without = (await Promise.all(Array.from({ length: 2 }, () => askForX()))).map((r) => r.state);
    expect(without).toEqual(['failed', 'failed']);
    // World 1: they have X. Today: every bid completed, a table of 100.
    await addEvent(t.sql, target, X, '2021-05-05');
    const withX: string[] = [];
    for (let i = 0; i < BIDS; i++) withX.push((await askForX()).state);
    await t.sql.query(`DELETE FROM gp_events WHERE patient_id = $1 AND code = $2`, [target, X]);
    expect(refusedOf(withX)).toBeGreaterThanOrEqual(BIDS / 2);
  });

  it('nor whether one person is a Type 1 objector (their hospital rows counted nowhere)', async () => {
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
    // Not objecting (100 persons). Today: every bid completed; once the target objects (99), failed.
    const notObjecting: string[] = [];
    for (let i = 0; i < BIDS; i++) notObjecting.push(await askHes());
    expect(refusedOf(notObjecting)).toBeGreaterThanOrEqual(BIDS / 2);
    await addObjection(t.sql, '9527300999', 'type1', 'register', { effectiveOn: '2020-01-01' });
    expect(await askHes()).toBe('failed');
  });
});
