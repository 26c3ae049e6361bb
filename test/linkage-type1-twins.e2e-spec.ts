import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestApp, TestApp } from '@custodian/testing';
import { runExtractor } from '@custodian/practices';
import { HES_HEADER, hes, SOCIAL_HEADER, social, toCsv } from './linkage-fixtures';
import { ndjson, nhsNumber, objection, patient } from './support/fhir';
import { practiceReady, upload } from './support/practice';

/**
 * Issue #26 (the harsher model's 8 wrong links): a Type 1 objector the centre never held, whose
 * hospital or social-care rows carry no NHS number, has a twin at the same address — same sex and
 * date of birth — who does not object. The objector's marker carries the NHS number alone (SPEC §2),
 * so the centre could not count them as a candidate (SPEC §3) and linked their rows to the twin.
 * The extractor now marks the twin's record ("a Type 1 objector of this practice has your sex, DOB
 * and postcode"); nothing of the objector leaves. The centre keeps that key as a Type 1 digest, and a
 * row with it is nobody's.
 */
describe('Type 1 twins never held (issue #26)', () => {
  let t: TestApp;
  let practice: { Authorization: string };
  let dm: { Authorization: string };
  const dir = mkdtempSync(path.join(tmpdir(), 'type1-twins-'));
  const n = { held: nhsNumber(826_001), objector: nhsNumber(826_002), other: nhsNumber(826_003) };
  const home = { birthDate: '1988-05-19', gender: 'male', address: [{ postalCode: 'LS8 2PT' }] };

  beforeAll(async () => {
    t = await createTestApp();
    practice = await practiceReady(t, (await t.as('admin')).auth, 'A81001');
    dm = (await t.as('data_manager')).auth;
  });
  afterAll(() => t?.close());

  const extract = async (withObjection: boolean) => {
    const input = path.join(dir, `export-${withObjection}.ndjson`);
    const output = path.join(dir, `extract-${withObjection}.ndjson`);
    writeFileSync(
      input,
      ndjson([
        patient('h', n.held, home),
        patient('o', n.objector, home),
        ...(withObjection
          ? [objection('o-1', 'o', '9Nu0', '2020-01-01')]
          : [objection('o-1', 'o', '9Nu0', '2020-01-01'), objection('o-2', 'o', '9Nu1', '2021-01-01')]),
        patient('x', n.other, { ...home, birthDate: '1988-05-20' }),
      ]),
    );
    const report = await runExtractor({ practiceOds: 'A81001', input, output });
    await upload(t, practice, 'A81001', readFileSync(output)).expect(201);
    return { report, out: readFileSync(output, 'utf8') };
  };
  const link = async (epikey: string) =>
    (
      await t.sql.query(
        `SELECT patient_id IS NOT NULL AS linked, linkage_step AS step FROM hes_episodes WHERE epikey = $1`,
        [epikey],
      )
    ).rows[0];

  it("a row without an NHS number that could be the objector's is not given to the held twin; nothing of the objector leaves", async () => {
    const { report, out } = await extract(true);
    // The objector leaves as a marker with the NHS number only.
    const marker = out
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .find((r) => r.id === 'o');
    expect(Object.keys(marker).sort()).toEqual(['id', 'identifier', 'resourceType']);
    const held = await t.sql.query(`SELECT count(*)::int AS n FROM patients WHERE nhs_number = $1`, [
      n.objector,
    ]);
    expect(held.rows[0].n).toBe(0);
    await t.http
      .post('/api/sources/hes')
      .set(dm)
      .set('Content-Type', 'text/csv')
      .send(
        toCsv(HES_HEADER, [
          hes('TWIN1', null, '1988-05-19', '1', 'LS8 2PT'), // either twin: nobody's
          hes('TWIN2', n.held, '1988-05-19', '1', 'LS8 2PT'), // the held twin by NHS number: step 1
          hes('OTHER1', null, '1988-05-20', '1', 'LS8 2PT'), // the neighbour born a day later: step 6
        ]),
      )
      .expect(201);
    expect(await link('TWIN1')).toEqual({ linked: false, step: null });
    expect(await link('TWIN2')).toEqual({ linked: true, step: 1 });
    expect(await link('OTHER1')).toEqual({ linked: true, step: 6 });
    await t.http
      .post('/api/sources/social-care')
      .set(dm)
      .set('Content-Type', 'text/csv')
      .send(toCsv(SOCIAL_HEADER, [social('E08000035', 'TW1SC', null, '1988-05-19', 'M', 'LS8 2PT')]))
      .expect(201);
    const sc = await t.sql.query(`SELECT patient_id FROM social_care_records WHERE person_id = 'TW1SC'`);
    expect(sc.rows[0].patient_id).toBeNull();
    expect(report.patientsSharingKeyWithType1).toBe(1);
  });

  it('when the objection is withdrawn, the mark goes and the key is forgotten', async () => {
    const { report } = await extract(false);
    expect(report.patientsSharingKeyWithType1).toBe(0);
    const { rows } = await t.sql.query(`SELECT count(*)::int AS n FROM linkage_type1_keys`);
    expect(rows[0].n).toBe(0);
  });
});
