/**
 * The eight-step linkage (SPEC §3, steps 6 and 7 as issue #26 changed them) as two set-based statements over any relation of rows with
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
 * - Step 6 (issue #26) probes, per row, every relation that names people — every key of every held
 *   patient, current and previous (`patient_address_history`), and source rows carrying an NHS number — by (sex, postcode), and counts the distinct
 *   people with the same DOB; step 7 does the same with day and month swapped (`demographicSteps`).
 * - Sex `U` never matches; a missing value (NULL) never equals anything.
 * - A Type 1 objector whose data was deleted stays a candidate at steps 6 and 7 through keyed
 *   digests of their keys (`type1-keys.sql.ts`). At steps 1–5 and 8 nothing more is needed: a row
 *   carrying their NHS number joins no patient, and it contradicts every other one at steps 6–7.
 *
 * Run inside a transaction: the result is a TEMP table dropped at commit.
 */

import {
  clientLinkStep,
  clientNhsInput,
  clientType1Unlink,
  LINKAGE_CLIENT_NHS,
  withClientNhs,
} from './client-nhs.sql';
import { swappedDobSql } from './dob-swap.sql';
import { type1KeyShared, type1Step6KeyShared } from './type1-keys.sql';

export { swappedDobSql };

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

/** Rows without an NHS number that steps 6 and 7 may link (the exclusions of SPEC §3 step 6). */
export const LINKAGE_DEMOGRAPHIC_ROWS = 'linkage_demographic_rows';
/** People the input itself names (rows carrying an NHS number) with the demographics of such a row. */
export const LINKAGE_NAMED = 'linkage_named';

/**
 * Every key (sex, DOB, postcode) the centre has held for each held patient — the current one and
 * previous addresses — kept by triggers on `patients` (migration `1764000042000`, owner
 * `libs/practices`): the held candidates of steps 6 and 7.
 */
export const ADDRESS_HISTORY = 'patient_address_history';

/** Source tables whose rows name people by NHS number (owned by this library). */
const NAMING_SOURCES = ['hes_episodes', 'social_care_records'] as const;

/**
 * Steps 6 and 7 (issue #26; docs/LINKAGE.md "Steps 6 and 7: precision"), for rows without an NHS
 * number, sex M or F, a date of birth not 1 January and a postcode that is not a ZZ99 pseudo-postcode.
 *
 * Step 6: sex + DOB + postcode, where the candidates are **people**, counted by NHS number — held
 * patients with those values now or at an address they left (`patient_address_history`), and
 * everyone an NHS number on a source row (HES or social care, held or in this input) names with them
 * (an outsider, a Type 1 objector never held, or a patient at a new address) — and Type 1 objectors'
 * kept digests. Exactly one person, held: linked; one not held: the
 * row is nobody's; none or two: on to step 7.
 *
 * Step 7 (deviation from SPEC, whose sex + DOB without the postcode was wrong about half the time):
 * the same with the DOB as given **or with day and month swapped** (same year) — the people with
 * either date are the candidates, so a row step 6 found ambiguous stays ambiguous. Any partial DOB
 * (two of three parts) linked chance matches as soon as postcodes were shared; a swap of the same
 * year is one other date.
 *
 * Per row one probe of each naming relation by (sex, postcode).
 */
/** Everyone known with the sex and postcode of row `d` (NHS number `nhs`, `birth_date`): the candidates' pool. */
const namedPeople = (opts: LinkageOptions, d: string) =>
  [
    // Held patients with every key the centre has held for them, the current one and previous
    // addresses (issue #26): one index, kept by triggers on `patients`.
    `SELECT h.nhs_number AS nhs, h.birth_date FROM ${ADDRESS_HISTORY} h WHERE h.sex = ${d}.sex AND h.postcode = ${d}.postcode`,
    ...NAMING_SOURCES.map(
      (t) => `SELECT s.nhs_number, s.birth_date FROM ${t} s
               WHERE s.nhs_number IS NOT NULL AND s.sex = ${d}.sex AND s.postcode = ${d}.postcode`,
    ),
    ...(opts.inputInSources
      ? []
      : [
          `SELECT n.nhs_number, n.birth_date FROM ${LINKAGE_NAMED} n WHERE n.sex = ${d}.sex AND n.postcode = ${d}.postcode`,
        ]),
  ].join('\n        UNION ALL ');

export const demographicSteps = (opts: LinkageOptions = {}) => {
  const named = namedPeople(opts, 'd');
  // One person = the least and the greatest NHS number found are the same (min/max per row, where
  // count(DISTINCT) sorted the few entries of every row).
  return `
  INSERT INTO ${LINKAGE_RESULT} (id, patient_id, step)
  SELECT y.id, p.id, y.step
    FROM (
      SELECT z.id, CASE WHEN z.lo6 IS NOT NULL THEN 6 ELSE 7 END AS step,
             CASE WHEN z.lo6 IS NOT NULL THEN z.lo6 ELSE z.lo7 END AS nhs
        FROM (
          SELECT d.id, d.sex, d.birth_date, d.swapped, d.postcode, c.lo6, c.hi6, c.lo7, c.hi7
            FROM ${LINKAGE_DEMOGRAPHIC_ROWS} d
           CROSS JOIN LATERAL (
                 SELECT min(k.nhs) FILTER (WHERE k.birth_date = d.birth_date) AS lo6,
                        max(k.nhs) FILTER (WHERE k.birth_date = d.birth_date) AS hi6,
                        min(k.nhs) AS lo7, max(k.nhs) AS hi7
                   FROM (${named}) k
                  WHERE k.birth_date = d.birth_date OR k.birth_date = d.swapped
                 ) c
        ) z
       WHERE NOT ${type1KeyShared(6, 'z', '$1::bytea')}
         AND ((z.lo6 = z.hi6)
              OR (z.lo6 IS NULL AND z.lo7 = z.hi7
                  AND NOT ${type1Step6KeyShared('z.sex', 'z.swapped', 'z.postcode', '$1::bytea')}))
    ) y
    JOIN patients p ON p.nhs_number = y.nhs`;
};

/**
 * The rows of `input` that steps 6 and 7 consider, and the people the input names like them
 * (`naming`: the rows as delivered — an NHS number a row took from its social-care client names no
 * one, as the re-link's probe of the source tables would not see it either; default `input`).
 */
export const demographicInput = (input: string, opts: LinkageOptions = {}, naming: string = input) => [
  `DROP TABLE IF EXISTS ${LINKAGE_DEMOGRAPHIC_ROWS}, ${LINKAGE_NAMED}`,
  `CREATE TEMP TABLE ${LINKAGE_DEMOGRAPHIC_ROWS} ON COMMIT DROP AS
   SELECT r.id, r.sex, r.birth_date, ${swappedDobSql('r.birth_date')} AS swapped, r.postcode FROM ${input} AS r
    WHERE r.nhs_number IS NULL AND r.sex IN ('M', 'F') AND r.birth_date IS NOT NULL
      AND NOT (date_part('month', r.birth_date) = 1 AND date_part('day', r.birth_date) = 1)
      AND r.postcode IS NOT NULL AND r.postcode NOT LIKE 'ZZ99%'`,
  ...(opts.inputInSources
    ? []
    : [
        `CREATE TEMP TABLE ${LINKAGE_NAMED} ON COMMIT DROP AS
   SELECT DISTINCT r.nhs_number, r.sex, r.birth_date, r.postcode FROM ${naming} AS r
    WHERE r.nhs_number IS NOT NULL
      AND EXISTS (SELECT 1 FROM ${LINKAGE_DEMOGRAPHIC_ROWS} d WHERE d.sex = r.sex AND d.postcode = r.postcode)`,
        `CREATE INDEX ON ${LINKAGE_NAMED} (sex, postcode)`,
        `ANALYZE ${LINKAGE_NAMED}`,
      ]),
  `ANALYZE ${LINKAGE_DEMOGRAPHIC_ROWS}`,
];

export interface LinkageOptions {
  /**
   * The input's rows are rows of the naming source tables themselves (the re-link job's input: a
   * sub-query of `hes_episodes` or `social_care_records`): the people they name are found by the
   * probe of those tables, so the copy of them (`linkage_named`, a scan of the whole input) is skipped.
   */
  inputInSources?: boolean;
  /**
   * Social care (issue #26): the input also has `la_code, person_id, start_date`, and a row without
   * an NHS number may take its client's (`client-nhs.sql.ts`) before the eight steps.
   */
  clients?: boolean;
}

export interface LinkageCounts {
  linkedByStep: Record<'1' | '2' | '3' | '4' | '5' | '6' | '7' | '8', number>;
  linked: number;
  /** Of the linked rows, those linked through an NHS number taken from their social-care client. */
  nhsFromClient: number;
  /** Of the linked rows, those linked to the patient their social-care client's other rows link to. */
  linkFromClient: number;
}

/**
 * Links the rows of `input` (a table name, or a parenthesised sub-query) against `patients` and the
 * Type 1 objectors' digests (`type1Key`: the digests' HMAC key, `Type1Keys.key`), into the TEMP table
 * `linkage_result (id, patient_id, step, nhs_from_client)`. Returns counts per step.
 */
export async function runLinkage(
  exec: Exec,
  input: string,
  type1Key: Buffer,
  opts: LinkageOptions = {},
): Promise<LinkageCounts> {
  await exec(`DROP TABLE IF EXISTS ${LINKAGE_RESULT}`);
  await exec(
    `CREATE TEMP TABLE ${LINKAGE_RESULT} (id bigint NOT NULL, patient_id bigint NOT NULL, step smallint NOT NULL,
       nhs_from_client boolean NOT NULL DEFAULT false, link_from_client boolean NOT NULL DEFAULT false) ON COMMIT DROP`,
  );
  let linked = input;
  if (opts.clients) {
    for (const q of clientNhsInput(input, !!opts.inputInSources)) await exec(q);
    linked = withClientNhs(input);
  }
  await exec(nhsAnchoredSteps(linked));
  if (opts.clients)
    await exec(
      `UPDATE ${LINKAGE_RESULT} l SET nhs_from_client = true FROM ${LINKAGE_CLIENT_NHS} c WHERE c.id = l.id`,
    );
  for (const q of demographicInput(linked, opts, input)) await exec(q);
  await exec(demographicSteps(opts), [type1Key]);
  if (opts.clients)
    await exec(
      clientType1Unlink((sex, dob, pc) => type1Step6KeyShared(sex, dob, pc, '$1::bytea'), swappedDobSql),
      [type1Key],
    );
  if (opts.clients)
    await exec(
      clientLinkStep(
        input,
        !!opts.inputInSources,
        (d) => namedPeople(opts, d),
        (sex, dob, pc) => type1Step6KeyShared(sex, dob, pc, '$1::bytea'),
        swappedDobSql,
      ),
      [type1Key],
    );
  await exec(`ANALYZE ${LINKAGE_RESULT}`);
  return countLinkage(exec);
}

export async function countLinkage(exec: Exec): Promise<LinkageCounts> {
  const rows = await exec(
    `SELECT step, count(*)::int AS n, count(*) FILTER (WHERE nhs_from_client)::int AS c,
            count(*) FILTER (WHERE link_from_client)::int AS k
       FROM ${LINKAGE_RESULT} GROUP BY step`,
  );
  const linkedByStep = emptyStepCounts();
  let linked = 0;
  let nhsFromClient = 0;
  let linkFromClient = 0;
  for (const { step, n, c, k } of rows as { step: number; n: number; c: number; k: number }[]) {
    linkedByStep[String(step) as keyof LinkageCounts['linkedByStep']] = n;
    linked += n;
    nhsFromClient += c;
    linkFromClient += k;
  }
  return { linkedByStep, linked, nhsFromClient, linkFromClient };
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
