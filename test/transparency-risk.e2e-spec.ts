import { createTestApp, TestApp } from '@custodian/testing';
import {
  addHes,
  addObjection,
  addPatient,
  addEvent,
  newLoad,
  runRelease,
  seedPractice,
  spec,
} from './release-helpers';

/**
 * The risk and linkage report of a release (#24) on a known population: exact figures for the
 * release officer, the small-number rule for the recipient.
 */
const N = (i: number) => String(9_200_000_000 + i);

describe('release risk and linkage report (#24)', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[]; auth: Record<string, string> };
  let researcher: { id: string; auth: Record<string, string> };
  let releaseId: string;

  beforeAll(async () => {
    t = await createTestApp();
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles, auth: o.auth };
    const r = await t.as('researcher');
    researcher = { id: r.user.id, auth: r.auth };
    await seedPractice(t.sql);
    // Class A: 30 persons born 1970-05, F, LS1 (one of them a Type 2 objector, not released);
    // class B: 10 persons born 1980-01, M, LS2; three persons alone in their class.
    const ids: string[] = [];
    let i = 0;
    const add = async (birth: string, sex: 'M' | 'F', postcode: string) => {
      const id = await addPatient(t.sql, { nhs: N(++i), birth, sex, postcode });
      await addEvent(t.sql, id);
      ids.push(id);
      return id;
    };
    for (let k = 0; k < 30; k++) await add('1970-05-17', 'F', 'LS1 4AP');
    for (let k = 0; k < 10; k++) await add('1980-01-02', 'M', 'LS2 9JT');
    await add('1990-02-03', 'F', 'LS3 1AA');
    await add('1991-03-04', 'M', 'LS4 2BB');
    await add('1992-04-05', 'F', 'LS5 3CC');
    await addObjection(t.sql, N(1), 'type2');
    // HES rows of released persons: 4 at step 1, 3 at step 2, 1 at step 6, 2 unlinked (NHS number
    // only); and one of the objector's, which leaves with nothing.
    const hes = await newLoad(t.sql, 'hes');
    for (let k = 0; k < 4; k++) await addHes(t.sql, hes, { nhs: null, patientId: ids[2 + k], step: 1 });
    for (let k = 0; k < 3; k++) await addHes(t.sql, hes, { nhs: null, patientId: ids[10 + k], step: 2 });
    await addHes(t.sql, hes, { nhs: null, patientId: ids[31], step: 6 });
    await addHes(t.sql, hes, { nhs: N(20) });
    await addHes(t.sql, hes, { nhs: N(21) });
    await addHes(t.sql, hes, { nhs: null, patientId: ids[0], step: 1 });

    const done = await runRelease(
      t,
      spec({
        recipients: [researcher.id],
        requestedBy: officer.id,
        tier: 'pseudonymised',
        datasets: [
          { dataset: 'gp', fields: ['nhs_number', 'date_of_birth', 'sex', 'postcode', 'code', 'event_date'] },
          { dataset: 'hes', fields: ['nhs_number', 'admission_date', 'diagnosis_icd10'] },
        ],
      }),
      officer,
    );
    expect(done.failure_reason).toBeNull();
    releaseId = done.id;
  });
  afterAll(() => t?.close());

  it('gives the release officer the exact figures', async () => {
    const res = await t.http.get(`/api/releases/${releaseId}`).set(officer.auth).expect(200);
    const report = res.body.riskReport;
    expect(report).toBeDefined();
    const gp = report.files.find((f: { file: string }) => f.file === 'gp.csv.gz');
    expect(gp).toMatchObject({
      personColumn: 'pseudo_id',
      quasiIdentifiers: ['birth_year_month', 'sex', 'postcode_district'],
      persons: 42,
      uniquePersons: 3,
      uniqueShare: 7.14,
      smallestClass: 1,
      prosecutorRisk: 1,
      suppressed: 0,
    });
    expect(report.linkage).toEqual([
      {
        dataset: 'hes',
        rows: 10,
        byStep: { '1': 4, '2': 3, '3': 0, '4': 0, '5': 0, '6': 1, '7': 0, '8': 0 },
        unlinked: 2,
      },
    ]);
  });

  it('gives the recipient the figures under the small-number rule', async () => {
    const res = await t.http.get(`/api/releases/${releaseId}`).set(researcher.auth).expect(200);
    const report = res.body.riskReport;
    const gp = report.files.find((f: { file: string }) => f.file === 'gp.csv.gz');
    expect(gp).toMatchObject({
      persons: 40,
      uniquePersons: '*',
      uniqueShare: '*',
      smallestClass: '*',
      prosecutorRisk: '*',
      // 0 to 7 alike (probe 27: `*` beside `0` said "someone is here").
      suppressed: '*',
    });
    expect(report.linkage[0]).toEqual({
      dataset: 'hes',
      rows: 10,
      byStep: { '1': '*', '2': '*', '3': '*', '4': '*', '5': '*', '6': '*', '7': '*', '8': '*' },
      unlinked: '*',
    });
    expect(JSON.stringify(report)).not.toMatch(/7\.14|"uniquePersons":3/);
  });

  it('reports an anonymised release: one class of 29, prosecutor risk 1/29', async () => {
    const done = await runRelease(
      t,
      spec({
        recipients: [researcher.id],
        requestedBy: officer.id,
        tier: 'anonymised',
        cohort: { ageMin: 50 }, // class A only (born 1970), the objector left out
        datasets: [{ dataset: 'gp', fields: ['nhs_number', 'date_of_birth', 'sex', 'postcode', 'code'] }],
      }),
      officer,
    );
    expect(done.failure_reason).toBeNull();
    const exact = (await t.http.get(`/api/releases/${done.id}`).set(officer.auth).expect(200)).body
      .riskReport;
    expect(exact.files[0]).toMatchObject({
      personColumn: 'person_token',
      quasiIdentifiers: ['age_band', 'sex', 'area'],
      persons: 29,
      uniquePersons: 0,
      uniqueShare: 0,
      smallestClass: 29,
      prosecutorRisk: 0.0345,
      suppressed: 0,
    });
    const shown = (await t.http.get(`/api/releases/${done.id}`).set(researcher.auth).expect(200)).body
      .riskReport;
    expect(shown.files[0]).toMatchObject({
      persons: 30,
      uniquePersons: '*',
      smallestClass: 30,
      prosecutorRisk: 3,
    });
  });
});
