/**
 * The eight-step linkage (SPEC §3) as two set-based statements over any relation of rows with
 * `(id, nhs_number char(10), birth_date date, sex char(1), postcode)`.
 *
 * Why two statements give the same answer as eight steps run in order (the property test
 * `linkage.sql.spec.ts` checks it against `linkReference()`, the literal algorithm):
 *
 * - `patients.nhs_number` is unique, so steps 1–5 and 8 (all anchored on the NHS number) have at most
 *   one candidate each, and it is the same patient for every one of them. One hash join on the NHS
 *   number finds it, and a CASE takes the first of steps 1–5 whose extra conditions hold, else 8.
 * - Steps 6 and 7 need a candidate whose NHS number does not contradict the row's. Every patient has
 *   an NHS number, so for a row that carries one the only such candidate is the patient with that
 *   very number; if that patient agrees on sex and date of birth the row was already linked at
 *   step 1 or 2. So only rows without an NHS number can link at steps 6 and 7 — and those rows can
 *   never link at steps 1–5 or 8. The two statements therefore touch disjoint rows, and step 8
 *   running "after" 6 and 7 changes nothing.
 * - Steps 6 and 7 share one probe on (sex, date of birth): per row, count all candidates (step 7)
 *   and those with the same postcode (step 6). Step 6 links when its conditions hold and exactly one
 *   candidate shares the postcode; otherwise step 7 links when exactly one candidate exists at all.
 *   A row ambiguous at step 6 (two or more) is ambiguous at step 7 too, so it stays unlinked.
 * - Sex `U` never matches; a missing value (NULL) never equals anything.
 * - A Type 1 objector whose data was deleted stays a candidate at steps 6 and 7 through keyed
 *   digests of their keys (`type1-keys.sql.ts`). At steps 1–5 and 8 nothing more is needed: a row
 *   carrying their NHS number joins no patient, and it contradicts every other one at steps 6–7.
 *
 * Run inside a transaction: the result is a TEMP table dropped at commit.
 */

import { type1KeyShared } from './type1-keys.sql';

export type Exec = (sql: string, params?: unknown[]) => Promise<Record<string, unknown>[]>;

/** Loads and re-link runs hold this transaction-level advisory lock, so they take turns. */
export const LINKAGE_LOCK_KEY = 7_365_110_004;

/** Working memory for the linkage transaction: the 1M-row hash joins then stay in memory. */
export const LINKAGE_WORK_MEM = '128MB';

/** Where the result lands: one row per linked input row. */
export const LINKAGE_RESULT = 'linkage_result';

const sexMatches = `r.sex IN ('M', 'F') AND r.sex = p.sex`;

/** Steps 1–5 and 8: one hash join on the NHS number. */
export const nhsAnchoredSteps = (input: string) => `
  INSERT INTO ${LINKAGE_RESULT} (id, patient_id, step)
  SELECT r.id, p.id,
         CASE
           WHEN ${sexMatches} AND r.birth_date = p.birth_date AND r.postcode = p.postcode THEN 1
           WHEN ${sexMatches} AND r.birth_date = p.birth_date THEN 2
           WHEN ${sexMatches} AND r.postcode = p.postcode AND dob_partial_match(r.birth_date, p.birth_date) THEN 3
           WHEN ${sexMatches} AND dob_partial_match(r.birth_date, p.birth_date) THEN 4
           WHEN r.postcode = p.postcode THEN 5
           ELSE 8
         END
    FROM ${input} AS r
    JOIN patients p ON p.nhs_number = r.nhs_number`;

/**
 * Steps 6 and 7: rows without an NHS number, by sex + date of birth (+ postcode), unique candidates
 * only. Driven from the (few) rows: per row, one index-only probe of `patients (sex, birth_date,
 * postcode) INCLUDE (id)` counts the candidates at step 7 and those sharing the postcode at step 6.
 * For the re-link job the rows themselves come from the partial index of unlinked rows without an
 * NHS number, so neither table is scanned in full.
 *
 * Type 1 objectors whose data the centre no longer holds are candidates too (SPEC §3): a row whose
 * key at a step shares a kept digest (`type1-keys.sql.ts`, key bound as `$1`) has a second candidate
 * there, so it is not linked at that step. The digests are computed only for rows that would
 * otherwise link. An objector sharing the step-6 key also shares the step-7 key, so a row ambiguous
 * at step 6 because of one is ambiguous at step 7 too.
 */
export const demographicSteps = (input: string) => `
  INSERT INTO ${LINKAGE_RESULT} (id, patient_id, step)
  SELECT id,
         CASE WHEN ok6 THEN p6 ELSE p7 END,
         CASE WHEN ok6 THEN 6 ELSE 7 END
    FROM (
      SELECT y.id, y.p6, y.p7,
             CASE WHEN y.at6 THEN NOT ${type1KeyShared(6, 'y', '$1::bytea')} ELSE false END AS ok6,
             CASE WHEN y.at7 THEN NOT ${type1KeyShared(7, 'y', '$1::bytea')} ELSE false END AS ok7
        FROM (
          SELECT r.id, r.sex, r.birth_date, r.postcode,
                 r.postcode IS NOT NULL AND r.postcode NOT LIKE 'ZZ99%' AND c.n6 = 1 AS at6,
                 c.p6,
                 c.n7 = 1 AS at7,
                 c.p7
            FROM ${input} AS r
           CROSS JOIN LATERAL (
                 SELECT count(*) FILTER (WHERE p.postcode = r.postcode) AS n6,
                        min(p.id) FILTER (WHERE p.postcode = r.postcode) AS p6,
                        count(*) AS n7,
                        min(p.id) AS p7
                   FROM patients p
                  WHERE p.sex = r.sex AND p.birth_date = r.birth_date
                 ) c
           WHERE r.nhs_number IS NULL
             AND r.sex IN ('M', 'F')
             AND NOT (date_part('month', r.birth_date) = 1 AND date_part('day', r.birth_date) = 1)
        ) y
       WHERE y.at6 OR y.at7
    ) x
   WHERE ok6 OR ok7`;

export interface LinkageCounts {
  linkedByStep: Record<'1' | '2' | '3' | '4' | '5' | '6' | '7' | '8', number>;
  linked: number;
}

/**
 * Links the rows of `input` (a table name, or a parenthesised sub-query) against `patients` and the
 * Type 1 objectors' digests (`type1Key`: the digests' HMAC key, `Type1Keys.key`), into the TEMP table
 * `linkage_result (id, patient_id, step)`. Returns counts per step.
 */
export async function runLinkage(exec: Exec, input: string, type1Key: Buffer): Promise<LinkageCounts> {
  await exec(`DROP TABLE IF EXISTS ${LINKAGE_RESULT}`);
  await exec(
    `CREATE TEMP TABLE ${LINKAGE_RESULT} (id bigint NOT NULL, patient_id bigint NOT NULL, step smallint NOT NULL) ON COMMIT DROP`,
  );
  await exec(nhsAnchoredSteps(input));
  await exec(demographicSteps(input), [type1Key]);
  await exec(`ANALYZE ${LINKAGE_RESULT}`);
  return countLinkage(exec);
}

export async function countLinkage(exec: Exec): Promise<LinkageCounts> {
  const rows = await exec(`SELECT step, count(*)::int AS n FROM ${LINKAGE_RESULT} GROUP BY step`);
  const linkedByStep = emptyStepCounts();
  let linked = 0;
  for (const { step, n } of rows as { step: number; n: number }[]) {
    linkedByStep[String(step) as keyof LinkageCounts['linkedByStep']] = n;
    linked += n;
  }
  return { linkedByStep, linked };
}

export const emptyStepCounts = (): LinkageCounts['linkedByStep'] => ({
  '1': 0,
  '2': 0,
  '3': 0,
  '4': 0,
  '5': 0,
  '6': 0,
  '7': 0,
  '8': 0,
});
