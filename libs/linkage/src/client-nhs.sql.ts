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
/**
 * The input rows without an NHS number whose client carries none on any row and whose rows agree on
 * sex and DOB: they may take the patient the client's other rows link to (`clientLinkStep`).
 */
export const LINKAGE_CLIENT_BLANK = 'linkage_client_blank';

/** The social-care table whose rows are a client's held rows. */
const CLIENT_TABLE = 'social_care_records';

/**
 * SQL creating `linkage_client_nhs (id, nhs_number)` and `linkage_client_blank (id, la_code,
 * person_id, sex, birth_date, postcode)` for `input` — a relation with `id, la_code, person_id,
 * start_date, nhs_number, birth_date, sex, postcode`. `inputInTable`: the input's rows are rows of
 * `social_care_records` itself (the re-link job), so the table alone is the client's evidence.
 */
export const clientNhsInput = (input: string, inputInTable: boolean): string[] => [
  `DROP TABLE IF EXISTS linkage_client_rows, ${LINKAGE_CLIENT_NHS}, ${LINKAGE_CLIENT_BLANK}`,
  `CREATE TEMP TABLE linkage_client_rows ON COMMIT DROP AS
   WITH blank AS (
     SELECT r.id, r.la_code, r.person_id, r.sex, r.birth_date, r.postcode FROM ${input} AS r WHERE r.nhs_number IS NULL
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
     HAVING count(DISTINCT nhs_number) <= 1
        AND count(DISTINCT birth_date) <= 1
        AND count(DISTINCT sex) FILTER (WHERE sex IN ('M', 'F')) <= 1
   )
   SELECT b.id, b.la_code, b.person_id, b.sex, b.birth_date, b.postcode, v.nhs_number::char(10) AS nhs_number
     FROM blank b JOIN verdict v ON v.la_code = b.la_code AND v.person_id = b.person_id`,
  `CREATE TEMP TABLE ${LINKAGE_CLIENT_NHS} ON COMMIT DROP AS
   SELECT id, nhs_number FROM linkage_client_rows WHERE nhs_number IS NOT NULL`,
  `CREATE UNIQUE INDEX ON ${LINKAGE_CLIENT_NHS} (id)`,
  `ANALYZE ${LINKAGE_CLIENT_NHS}`,
  `CREATE TEMP TABLE ${LINKAGE_CLIENT_BLANK} ON COMMIT DROP AS
   SELECT id, la_code, person_id, sex, birth_date, postcode FROM linkage_client_rows WHERE nhs_number IS NULL`,
  `CREATE INDEX ON ${LINKAGE_CLIENT_BLANK} (la_code, person_id)`,
  `ANALYZE ${LINKAGE_CLIENT_BLANK}`,
];

/**
 * The input as the eight steps see it: a row without an NHS number carries its client's, when
 * `linkage_client_nhs` gives one.
 */
export const withClientNhs = (input: string) =>
  `(SELECT r.id, coalesce(r.nhs_number, c.nhs_number) AS nhs_number, r.birth_date, r.sex, r.postcode
      FROM ${input} AS r LEFT JOIN ${LINKAGE_CLIENT_NHS} c ON c.id = r.id)`;

/**
 * Fail closed on a client that could be a Type 1 objector (issue #26): when any row of a client
 * without an NHS number has the sex, DOB (or swapped DOB) and postcode of a Type 1 objector's kept
 * digest, that row is nobody's already (step 6), and so are the client's other rows — the same
 * person, as far as the local authority knows — however steps 6 and 7 found them. `$1` = the key.
 */
export const clientType1Unlink = (
  type1Shared: (sex: string, birthDate: string, postcode: string) => string,
  swapped: (birthDate: string) => string,
) => `
  DELETE FROM linkage_result l
   USING ${LINKAGE_CLIENT_BLANK} b
   WHERE l.id = b.id AND l.step IN (6, 7)
     AND EXISTS (SELECT 1 FROM ${LINKAGE_CLIENT_BLANK} t
                  WHERE t.la_code = b.la_code AND t.person_id = b.person_id
                    AND t.sex IN ('M', 'F') AND t.birth_date IS NOT NULL AND t.postcode IS NOT NULL
                    AND (${type1Shared('t.sex', 't.birth_date', 't.postcode')}
                         OR ${type1Shared('t.sex', swapped('t.birth_date'), 't.postcode')}))`;

/**
 * The client's link (issue #26), after steps 6 and 7, for a client with no NHS number on any row:
 * a row left unlinked takes the patient its client's other rows were linked to at steps 6 and 7 —
 * only when they were all linked to that one patient, the client's rows agree on sex and DOB
 * (`linkage_client_blank`), and the row's own key finds nobody else: no person held, named or
 * digested (Type 1) with its sex, DOB (or swapped DOB) and postcode. Recorded as step 6 (the link
 * rests on sex + DOB + the postcode of the client's other row) with `link_from_client`.
 * `named(alias)`: the union of naming relations probed by (sex, postcode) of `alias`
 * (`demographicSteps`'); `$1` = the Type 1 digests' key.
 */
export const clientLinkStep = (
  input: string,
  inputInTable: boolean,
  named: (alias: string) => string,
  type1Shared: (sex: string, birthDate: string, postcode: string) => string,
  swapped: (birthDate: string) => string,
) => `
  INSERT INTO linkage_result (id, patient_id, step, link_from_client)
  SELECT b.id, o.patient_id, 6, true
    FROM ${LINKAGE_CLIENT_BLANK} b
    JOIN (
      SELECT e.la_code, e.person_id, min(e.patient_id) AS patient_id
        FROM (
          SELECT c.la_code, c.person_id, l.patient_id
            FROM ${LINKAGE_CLIENT_BLANK} c JOIN linkage_result l ON l.id = c.id
          ${
            inputInTable
              ? ''
              : `UNION ALL
          SELECT s.la_code, s.person_id, s.patient_id
            FROM ${CLIENT_TABLE} s
            JOIN (SELECT DISTINCT la_code, person_id FROM ${LINKAGE_CLIENT_BLANK}) k
              ON k.la_code = s.la_code AND k.person_id = s.person_id
           WHERE s.patient_id IS NOT NULL AND s.linkage_step IN (6, 7) AND NOT s.link_from_client
             AND NOT EXISTS (SELECT 1 FROM ${input} AS i
                              WHERE i.la_code = s.la_code AND i.person_id = s.person_id AND i.start_date = s.start_date)`
          }
        ) e
       GROUP BY e.la_code, e.person_id
      HAVING count(DISTINCT e.patient_id) = 1
    ) o ON o.la_code = b.la_code AND o.person_id = b.person_id
   WHERE NOT EXISTS (SELECT 1 FROM linkage_result l WHERE l.id = b.id)
     AND NOT (b.sex IN ('M', 'F') AND b.birth_date IS NOT NULL AND b.postcode IS NOT NULL
              AND (EXISTS (SELECT 1 FROM (${named('b')}) k
                            WHERE k.birth_date = b.birth_date OR k.birth_date = ${swapped('b.birth_date')})
                   OR ${type1Shared('b.sex', 'b.birth_date', 'b.postcode')}
                   OR ${type1Shared('b.sex', swapped('b.birth_date'), 'b.postcode')}))`;
