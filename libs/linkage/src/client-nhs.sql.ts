/**
 * A social-care client's NHS number (issue #26, social-care recall; docs/LINKAGE.md "A client's NHS
 * number"). A local authority identifies a client by `LA_CODE + PERSON_ID` (SPEC §3's social-care
 * format) and records the NHS number on some of the client's rows and not on others, and a client's
 * address changes between rows. A row without an NHS number takes the number of the same client's
 * other rows, before the eight steps, so it links by the ordinary NHS-number steps (1–5, 8), only when:
 *
 * - every row of the client that carries an NHS number carries the same one (two numbers: nothing);
 * - the client's rows do not contradict each other: at most one date of birth and at most one sex
 *   (M/F) among those recorded (a blank DOB or sex U contradicts nothing).
 *
 * The client's rows are those held in `social_care_records` and those of the input (a load's file;
 * a held row that the file delivers again counts as the file's). Fail closed: a client whose number
 * is held by no patient (an outsider's, a Type 1 objector's) is that person, so its rows join no
 * patient and are nobody's — and, carrying a number now, they no longer reach the demographic steps
 * 6 and 7, where a look-alike could have got them. The row's own NHS_NUMBER stays as delivered; the
 * result records that the number came from the client (`social_care_records.nhs_number_from_client`).
 */

/** id → the client's NHS number, for the input rows without one that may take it. */
export const LINKAGE_CLIENT_NHS = 'linkage_client_nhs';

/** The social-care table whose rows are a client's held rows. */
const CLIENT_TABLE = 'social_care_records';

/**
 * SQL creating `linkage_client_nhs (id, nhs_number)` for `input` — a relation with `id, la_code,
 * person_id, start_date, nhs_number, birth_date, sex`. `inputInTable`: the input's rows are rows of
 * `social_care_records` itself (the re-link job), so the table alone is the client's evidence.
 */
export const clientNhsInput = (input: string, inputInTable: boolean): string[] => [
  `DROP TABLE IF EXISTS ${LINKAGE_CLIENT_NHS}`,
  `CREATE TEMP TABLE ${LINKAGE_CLIENT_NHS} ON COMMIT DROP AS
   WITH blank AS (
     SELECT r.id, r.la_code, r.person_id FROM ${input} AS r WHERE r.nhs_number IS NULL
   ), clients AS (
     SELECT DISTINCT la_code, person_id FROM blank
   ), evidence AS (
     SELECT s.la_code, s.person_id, s.nhs_number, s.birth_date, s.sex
       FROM ${CLIENT_TABLE} s JOIN clients c ON c.la_code = s.la_code AND c.person_id = s.person_id
     ${
       inputInTable
         ? ''
         : `WHERE NOT EXISTS (SELECT 1 FROM ${input} AS i
                         WHERE i.la_code = s.la_code AND i.person_id = s.person_id AND i.start_date = s.start_date)
     UNION ALL
     SELECT i.la_code, i.person_id, i.nhs_number, i.birth_date, i.sex
       FROM ${input} AS i JOIN clients c ON c.la_code = i.la_code AND c.person_id = i.person_id`
     }
   ), verdict AS (
     SELECT la_code, person_id, min(nhs_number) AS nhs_number
       FROM evidence
      GROUP BY la_code, person_id
     HAVING count(DISTINCT nhs_number) = 1
        AND count(DISTINCT birth_date) <= 1
        AND count(DISTINCT sex) FILTER (WHERE sex IN ('M', 'F')) <= 1
   )
   SELECT b.id, v.nhs_number::char(10) AS nhs_number
     FROM blank b JOIN verdict v ON v.la_code = b.la_code AND v.person_id = b.person_id`,
  `CREATE UNIQUE INDEX ON ${LINKAGE_CLIENT_NHS} (id)`,
  `ANALYZE ${LINKAGE_CLIENT_NHS}`,
];

/**
 * The input as the eight steps see it: a row without an NHS number carries its client's, when
 * `linkage_client_nhs` gives one.
 */
export const withClientNhs = (input: string) =>
  `(SELECT r.id, coalesce(r.nhs_number, c.nhs_number) AS nhs_number, r.birth_date, r.sex, r.postcode
      FROM ${input} AS r LEFT JOIN ${LINKAGE_CLIENT_NHS} c ON c.id = r.id)`;
