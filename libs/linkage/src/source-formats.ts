/**
 * The two CSV formats of SPEC §3 and the SQL that validates them. The file is COPYed verbatim into
 * `source_stage_raw (row_no, c1 … c9)` (all text, header included as row_no 1); one statement then
 * parses and checks every row into `source_stage`, giving each bad row its first failing reason
 * (`reason`) and every one that applies (`reasons`).
 * Row numbers are data rows, 1-based, the header excluded: `row = row_no - 1`.
 */

import { CODE_FORMATS, OPCS4_NONE_MARKERS, serviceTypeSql } from './source-codes';

export type SourceKind = 'hes' | 'social_care';

export interface SourceFormat {
  kind: SourceKind;
  /** The header, exactly (compared trimmed and case-insensitively, a UTF-8 BOM ignored). */
  columns: readonly string[];
  /** SQL selecting the parsed columns and `reason` from `source_stage_raw`. */
  stageSql: string;
  /** SQL upserting the valid rows of `source_stage` with their linkage; `$1` = load id. */
  upsertSql: string;
  table: 'hes_episodes' | 'social_care_records';
}

/** Every rejection reason, in the order the checks run (a row gets the first that applies). */
export const REJECTION_REASONS = {
  hes: [
    'missing_epikey',
    'field_too_long',
    'invalid_epikey',
    'invalid_nhs_number',
    'invalid_dob',
    'invalid_sex',
    'invalid_postcode',
    'invalid_admission_date',
    'admission_before_birth',
    'invalid_diagnosis_code',
    'invalid_procedure_code',
    'invalid_provider_code',
    'duplicate_epikey',
  ],
  social_care: [
    'missing_la_code',
    'missing_person_id',
    'invalid_start_date',
    'field_too_long',
    'invalid_la_code',
    'invalid_person_id',
    'invalid_nhs_number',
    'invalid_dob',
    'invalid_sex',
    'invalid_postcode',
    'missing_service_type',
    'invalid_service_type',
    'invalid_end_date',
    'duplicate_key',
  ],
} as const satisfies Record<SourceKind, readonly string[]>;

export type RejectionReason = (typeof REJECTION_REASONS)[SourceKind][number];

/** Blank (unquoted empty, quoted empty or whitespace) is NULL. */
const text = (c: string) => `nullif(btrim(${c}), '')`;
/** A code field: trimmed and upper-cased, blank is NULL. */
const code = (c: string) => `upper(${text(c)})`;
/** A value against one of the code formats (`source-codes.ts`; constants, never input). */
const matches = (v: string, format: keyof typeof CODE_FORMATS) => `${v} ~ '${CODE_FORMATS[format]}'`;
const OPCS4_NONE = OPCS4_NONE_MARKERS.map((m) => `'${m}'`).join(', ');

/**
 * The transaction-local setting that holds the load's today, its date in England (`todayInEngland`,
 * as for GP extracts): set by the load before the staging SQL runs (which takes no parameters).
 * It was the database's `current_date`, its session's zone (UTC): a date of today in England was
 * "in the future" from midnight to 1 am in summer (probe 38).
 */
export const SOURCE_TODAY_SETTING = 'custodian.source_today';
const TODAY = `current_setting('${SOURCE_TODAY_SETTING}')::date`;

/** A real date, not before 1895-01-01 and not in the future (as for GP extracts, SPEC §2). */
const plausible = (d: string) => `(${d} IS NOT NULL AND ${d} >= DATE '1895-01-01' AND ${d} <= ${TODAY})`;

/**
 * Every reason among `WHEN condition THEN 'reason'` clauses that applies to a row, in their order
 * (the first is the one a row was always given; a data manager sees them all).
 */
const allReasons = (whens: string) =>
  `array_remove(ARRAY[${whens
    .split(/\bWHEN\b/)
    .map((w) => w.trim())
    .filter(Boolean)
    .map((w) => `CASE WHEN ${w} END`)
    .join(',\n')}]::text[], NULL)`;

/** Shared checks of the demographic columns, after the source's own key checks. */
const demographicReasons = `
  WHEN nhs_raw IS NOT NULL AND nhs_number_normalise(nhs_raw) IS NULL THEN 'invalid_nhs_number'
  WHEN dob_raw IS NOT NULL AND NOT ${plausible('birth_date')} THEN 'invalid_dob'
  WHEN sex IS NULL THEN 'invalid_sex'
  WHEN postcode_raw IS NOT NULL AND postcode IS NULL THEN 'invalid_postcode'`;

/** The parsed demographic columns shared by both formats. */
const demographicColumns = `
  nhs_number_normalise(nhs_raw)::char(10) AS nhs_number,
  date_parse_lenient(dob_raw) AS birth_date,
  postcode_normalise(postcode_raw) AS postcode`;

/**
 * Sex codes to M/F/U. HES: 1 male, 2 female, 9 not specified, 0 not known. Social care: M/F/U or
 * the same numeric codes. Blank is "not known" (U) in both. U never matches in linkage.
 */
const sexCase = (codes: 'hes' | 'social_care') =>
  codes === 'hes'
    ? `CASE WHEN sex_raw IS NULL THEN 'U' WHEN sex_raw = '1' THEN 'M' WHEN sex_raw = '2' THEN 'F'
            WHEN sex_raw IN ('9', '0') THEN 'U' END`
    : `CASE WHEN sex_raw IS NULL THEN 'U' WHEN sex_raw IN ('M', '1') THEN 'M' WHEN sex_raw IN ('F', '2') THEN 'F'
            WHEN sex_raw IN ('U', '9', '0') THEN 'U' END`;

const HES_STAGE = `
  WITH t AS (
    SELECT row_no - 1 AS row,
           ${text('c1')} AS epikey, ${text('c2')} AS nhs_raw, ${text('c3')} AS dob_raw,
           upper(${text('c4')}) AS sex_raw, ${text('c5')} AS postcode_raw, ${text('c6')} AS admi_raw,
           ${code('c7')} AS diagnosis_icd10,
           CASE WHEN ${text('c8')} IN (${OPCS4_NONE}) THEN NULL ELSE ${code('c8')} END AS procedure_opcs4,
           ${code('c9')} AS provider_code
      FROM source_stage_raw
     WHERE row_no > 1
  ), p AS (
    SELECT t.*, ${demographicColumns},
           ${sexCase('hes')}::char(1) AS sex,
           date_parse_lenient(admi_raw) AS admission_date
      FROM t
  ), q AS (
    SELECT p.*,
           ${allReasons(`WHEN epikey IS NULL THEN 'missing_epikey'
             WHEN length(epikey) > 20 OR length(diagnosis_icd10) > 8 OR length(procedure_opcs4) > 8
               OR length(provider_code) > 8 THEN 'field_too_long'
             WHEN NOT ${matches('epikey', 'epikey')} THEN 'invalid_epikey'
             ${demographicReasons}
             WHEN NOT ${plausible('admission_date')} THEN 'invalid_admission_date'
             WHEN admission_date < birth_date THEN 'admission_before_birth'
             WHEN diagnosis_icd10 IS NOT NULL AND NOT ${matches('diagnosis_icd10', 'icd10')} THEN 'invalid_diagnosis_code'
             WHEN procedure_opcs4 IS NOT NULL AND NOT ${matches('procedure_opcs4', 'opcs4')} THEN 'invalid_procedure_code'
             WHEN provider_code IS NOT NULL AND NOT ${matches('provider_code', 'ods')} THEN 'invalid_provider_code'`)} AS reasons
      FROM p
  ), v AS (
    SELECT q.*, reasons[1] AS invalid
      FROM q
  ), w AS (
    SELECT v.*,
           CASE
             WHEN invalid IS NOT NULL THEN invalid
             WHEN row_number() OVER (PARTITION BY invalid IS NULL, epikey ORDER BY row) > 1 THEN 'duplicate_epikey'
           END AS reason
      FROM v
  )
  SELECT row, epikey, nhs_number, birth_date, sex, postcode, admission_date,
         diagnosis_icd10, procedure_opcs4, provider_code, reason,
         CASE WHEN invalid IS NOT NULL THEN reasons WHEN reason IS NOT NULL THEN ARRAY[reason] END AS reasons
    FROM w`;

const SOCIAL_STAGE = `
  WITH t AS (
    SELECT row_no - 1 AS row,
           ${code('c1')} AS la_code, ${text('c2')} AS person_id, ${text('c3')} AS nhs_raw, ${text('c4')} AS dob_raw,
           upper(${text('c5')}) AS sex_raw, ${text('c6')} AS postcode_raw, ${text('c7')} AS service_raw,
           ${text('c8')} AS start_raw, ${text('c9')} AS end_raw
      FROM source_stage_raw
     WHERE row_no > 1
  ), p AS (
    SELECT t.*, ${demographicColumns},
           ${sexCase('social_care')}::char(1) AS sex,
           date_parse_lenient(start_raw) AS start_date,
           date_parse_lenient(end_raw) AS end_date,
           ${serviceTypeSql('service_raw')} AS service_type
      FROM t
  ), q AS (
    SELECT p.*,
           ${allReasons(`WHEN la_code IS NULL THEN 'missing_la_code'
             WHEN person_id IS NULL THEN 'missing_person_id'
             WHEN NOT ${plausible('start_date')} THEN 'invalid_start_date'
             WHEN length(la_code) > 9 OR length(person_id) > 40 OR length(service_raw) > 60 THEN 'field_too_long'
             WHEN NOT ${matches('la_code', 'onsLa')} THEN 'invalid_la_code'
             WHEN NOT ${matches('person_id', 'epikey')} THEN 'invalid_person_id'
             ${demographicReasons}
             WHEN service_raw IS NULL THEN 'missing_service_type'
             WHEN service_type IS NULL THEN 'invalid_service_type'
             WHEN end_raw IS NOT NULL AND (end_date IS NULL OR end_date < start_date) THEN 'invalid_end_date'`)} AS reasons
      FROM p
  ), v AS (
    SELECT q.*, reasons[1] AS invalid
      FROM q
  ), w AS (
    SELECT v.*,
           CASE
             WHEN invalid IS NOT NULL THEN invalid
             WHEN row_number() OVER (PARTITION BY invalid IS NULL, la_code, person_id, start_date ORDER BY row) > 1
               THEN 'duplicate_key'
           END AS reason
      FROM v
  )
  SELECT row, la_code, person_id, nhs_number, birth_date, sex, postcode, service_type, start_date, end_date,
         reason,
         CASE WHEN invalid IS NOT NULL THEN reasons WHEN reason IS NOT NULL THEN ARRAY[reason] END AS reasons
    FROM w`;

/**
 * A reload is keyed (EPIKEY; LA_CODE + PERSON_ID + START_DATE): a row already held with the same
 * values and linkage is left untouched; one whose values (or, against today's patients, linkage)
 * differ is updated in place and takes the new load's id — the latest delivery of a record wins.
 */
const upsert = (table: string, key: string, columns: string[], clients = false) => {
  // Social care: whether the row's link rests on its client's NHS number (issue #26, client-nhs.sql.ts).
  const link = [
    'patient_id',
    'linkage_step',
    ...(clients ? ['nhs_number_from_client', 'link_from_client'] : []),
  ];
  const linkValues = [
    'l.patient_id',
    'l.step',
    ...(clients ? ['coalesce(l.nhs_from_client, false)', 'coalesce(l.link_from_client, false)'] : []),
  ];
  return `
  WITH up AS (
    INSERT INTO ${table} AS t (${columns.join(', ')}, load_id, ${link.join(', ')})
    SELECT ${columns.map((c) => `s.${c}`).join(', ')}, $1, ${linkValues.join(', ')}
      FROM source_stage s
      LEFT JOIN linkage_result l ON l.id = s.row
     WHERE s.reason IS NULL
    ON CONFLICT (${key}) DO UPDATE
       SET ${[...columns, 'load_id', ...link]
         .filter((c) => !key.split(', ').includes(c))
         .map((c) => `${c} = excluded.${c}`)
         .join(', ')}
     WHERE (${[...columns, ...link].map((c) => `t.${c}`).join(', ')})
           IS DISTINCT FROM
           (${[...columns, ...link].map((c) => `excluded.${c}`).join(', ')})
    RETURNING (xmax = 0) AS inserted
  )
  SELECT count(*) FILTER (WHERE inserted)::int AS inserted,
         count(*) FILTER (WHERE NOT inserted)::int AS updated
    FROM up`;
};

export const SOURCE_FORMATS: Record<SourceKind, SourceFormat> = {
  hes: {
    kind: 'hes',
    columns: [
      'EPIKEY',
      'NEWNHSNO',
      'DOB',
      'SEX',
      'HOMEADD',
      'ADMIDATE',
      'DIAG_4_01',
      'OPERTN_4_01',
      'PROCODE',
    ],
    stageSql: HES_STAGE,
    table: 'hes_episodes',
    upsertSql: upsert('hes_episodes', 'epikey', [
      'epikey',
      'nhs_number',
      'birth_date',
      'sex',
      'postcode',
      'admission_date',
      'diagnosis_icd10',
      'procedure_opcs4',
      'provider_code',
    ]),
  },
  social_care: {
    kind: 'social_care',
    columns: [
      'LA_CODE',
      'PERSON_ID',
      'NHS_NUMBER',
      'DOB',
      'GENDER',
      'POSTCODE',
      'SERVICE_TYPE',
      'START_DATE',
      'END_DATE',
    ],
    stageSql: SOCIAL_STAGE,
    table: 'social_care_records',
    upsertSql: upsert(
      'social_care_records',
      'la_code, person_id, start_date',
      [
        'la_code',
        'person_id',
        'nhs_number',
        'birth_date',
        'sex',
        'postcode',
        'service_type',
        'start_date',
        'end_date',
      ],
      true,
    ),
  },
};
