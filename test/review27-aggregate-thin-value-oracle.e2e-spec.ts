import { createTestApp, TestApp } from '@custodian/testing';
import {
  addEvent,
  addPatient,
  download,
  otherOrganisationRecipient,
  parseCsvGz,
  runRelease,
  seedPractice,
  spec,
} from './release-helpers';

/**
 * Review 27 of 29762a9 (probe 27, finding 3: "one person at 99 + 1 no longer decides between a
 * table and AGG_POPULATION_TOO_SMALL"). The keyed margin moves the threshold of each comparison
 * within [100, 114], but a dimension's values are the values present in the population: a value
 * that one person has is a comparison of 1 person against its threshold (refused), and the same
 * value without that person is no comparison at all (released). No margin above 100 changes that.
 *
 * The probe's own scenario, in one bid and without reaching 99: the target is the practice's only
 * patient aged 90+; 130 others of the practice have code X. The attacker asks for the practice's
 * persons with X, by `age_band`. The target has X: band `90+` holds one person, AGG_POPULATION_TOO_SMALL.
 * The target has not X: no `90+` band, a table. docs/RELEASE.md: "one person never adds a value, a
 * row or a column" — here one person turns the table into a refusal, which tells the same thing.
 * Fixed: a value under its threshold is left out of the table (its events counted nowhere), never
 * a refusal, so the table is the same with and without the target (engine/aggregate.ts).
 */
describe('review 27: a thin dimension value makes the aggregate refusal a one-person oracle', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[] };
  const ODS = 'K92702';
  const X = '35489007'; // depressive disorder
  let target: string;

  beforeAll(async () => {
    t = await createTestApp();
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles };
    await seedPractice(t.sql, ODS);
    // 130 persons with X: the table and the band 50-54 are above any threshold (100 + 0-14).
    for (let i = 0; i < 130; i++) {
      const id = await addPatient(t.sql, { nhs: String(9527200000 + i), birth: '1975-02-01', practice: ODS });
      await addEvent(t.sql, id, X, '2020-01-10');
    }
    const born = await t.sql.query(`SELECT (current_date - interval '95 years 2 months')::date AS d`);
    target = await addPatient(t.sql, {
      nhs: '9527200999',
      birth: born.rows[0].d.toISOString().slice(0, 10),
      practice: ODS,
    });
    await addEvent(t.sql, target, '22298006', '2020-02-02');
  });
  afterAll(() => t?.close());

  /** The practice's persons with X by age band, for a new organisation (no differencing guard). */
  const askForX = async () => {
    const r = await otherOrganisationRecipient(t);
    const rel = await runRelease(
      t,
      spec({
        tier: 'aggregate',
        legalBasis: 'none',
        datasets: [{ dataset: 'gp', fields: ['code'] }],
        aggregation: { dimensions: ['age_band'] },
        cohort: { practices: [ODS], conditionCodes: [X] },
        recipients: [r.id],
        requestedBy: officer.id,
      }),
      officer,
    );
    const table =
      rel.state === 'completed'
        ? parseCsvGz((await download(t, r.auth, rel.id, 'aggregate.csv.gz')).body).rows
        : null;
    return { state: rel.state, reason: rel.failure_reason, table };
  };

  // Failed before the fix (world 2 refused with AGG_POPULATION_TOO_SMALL, world 1 released).
  it('whether the target has the code does not decide between a table and a refusal', async () => {
    // World 1: the target has not X: completed, one row (50-54, 130).
    const without = await askForX();
    // World 2: the target has X (band 90+ holds 1 person): before the fix, AGG_POPULATION_TOO_SMALL.
    await addEvent(t.sql, target, X, '2021-05-05');
    const withX = await askForX();
    await t.sql.query(`DELETE FROM gp_events WHERE patient_id = $1 AND code = $2`, [target, X]);
    expect(without.state).toBe('completed');
    expect(withX.state).toBe(without.state);
    expect(withX.table).toEqual(without.table);
  });
});
