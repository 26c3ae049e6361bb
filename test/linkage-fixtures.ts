import type { Client } from 'pg';

/** A valid NHS number from a nine-digit stem (Modulus 11), skipping stems whose check would be 10. */
export function nhsNumber(stem: number): string {
  for (let s = stem; ; s++) {
    const nine = String(s).padStart(9, '0').slice(-9);
    const sum = [...nine].reduce((acc, c, i) => acc + Number(c) * (10 - i), 0);
    const check = (11 - (sum % 11)) % 11;
    if (check !== 10 && !/^(\d)\1{8}$/.test(nine)) return nine + check;
  }
}

export interface PatientSpec {
  nhs: string;
  dob: string;
  sex: 'M' | 'F' | 'U';
  postcode: string | null;
  practice?: string;
}

/** Inserts patients (and their practice) directly, as the extract intake would have stored them. */
export async function insertPatients(sql: Client, patients: PatientSpec[]): Promise<Map<string, number>> {
  const practices = [...new Set(patients.map((p) => p.practice ?? 'A81001'))];
  for (const ods of practices)
    await sql.query(
      `INSERT INTO practices (ods_code, name, rollout) VALUES ($1, $2, 'pilot') ON CONFLICT DO NOTHING`,
      [ods, `Practice ${ods}`],
    );
  const ids = new Map<string, number>();
  for (const p of patients) {
    const { rows } = await sql.query(
      `INSERT INTO patients (nhs_number, birth_date, sex, postcode, practice_ods, source_id)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING id::int AS id`,
      [p.nhs, p.dob, p.sex, p.postcode, p.practice ?? 'A81001', `src-${p.nhs}`],
    );
    ids.set(p.nhs, rows[0].id);
  }
  return ids;
}

const quote = (v: string | null | undefined) =>
  v == null ? '' : /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;

export const toCsv = (header: readonly string[], rows: (string | null | undefined)[][]) =>
  [header.join(','), ...rows.map((r) => r.map(quote).join(','))].join('\n') + '\n';

export const HES_HEADER = [
  'EPIKEY',
  'NEWNHSNO',
  'DOB',
  'SEX',
  'HOMEADD',
  'ADMIDATE',
  'DIAG_4_01',
  'OPERTN_4_01',
  'PROCODE',
] as const;

export const SOCIAL_HEADER = [
  'LA_CODE',
  'PERSON_ID',
  'NHS_NUMBER',
  'DOB',
  'GENDER',
  'POSTCODE',
  'SERVICE_TYPE',
  'START_DATE',
  'END_DATE',
] as const;

/** A HES row: EPIKEY, NEWNHSNO, DOB, SEX, HOMEADD, then a valid admission and codes. */
export const hes = (
  epikey: string,
  nhs: string | null,
  dob: string | null,
  sex: string | null,
  postcode: string | null,
  rest: Partial<{ admidate: string | null; diag: string; opertn: string; procode: string }> = {},
) => [
  epikey,
  nhs,
  dob,
  sex,
  postcode,
  rest.admidate === undefined ? '2013-04-02' : rest.admidate,
  rest.diag ?? 'I639',
  rest.opertn ?? 'X403',
  rest.procode ?? 'RR8',
];

/** A social-care row: LA_CODE, PERSON_ID, NHS_NUMBER, DOB, GENDER, POSTCODE, then service and dates. */
export const social = (
  la: string | null,
  person: string | null,
  nhs: string | null,
  dob: string | null,
  gender: string | null,
  postcode: string | null,
  rest: Partial<{ service: string | null; start: string | null; end: string | null }> = {},
) => [
  la,
  person,
  nhs,
  dob,
  gender,
  postcode,
  rest.service === undefined ? 'Home care' : rest.service,
  rest.start === undefined ? '2012-06-01' : rest.start,
  rest.end === undefined ? null : rest.end,
];
