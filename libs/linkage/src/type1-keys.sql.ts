/**
 * What linkage keeps of a Type 1 objector once their GP data is deleted (SPEC §3: "Type 1 objectors
 * whose data the centre does not hold count as candidates too — a row that could be theirs is never
 * given to someone else"), and the SQL that keeps, forgets and consults it.
 *
 * `linkage_type1_keys (step, digest, subject)` holds keyed digests — HMAC-SHA-256 under a key derived
 * from PSEUDONYM_KEY_SECRET (`Type1Keys`), bound as a parameter — of exactly the keys steps 6 and 7
 * compare: `6|sex|YYYY-MM-DD|postcode` and `7|sex|YYYY-MM-DD`; `subject` is the digest of
 * `nhs|<NHS number>`, only so that the intake can find them when it stores the person again (a
 * withdrawal alone forgets nothing: until then the digests are all that makes them a candidate).
 * No clinical data, nothing in clear.
 * Keys that steps 6 and 7 can never match (sex U, 1 January, and for step 6 no postcode or a ZZ99
 * pseudo-postcode) are not kept at all.
 *
 * `key` below is the SQL text of the bound key parameter (e.g. `$1::bytea`).
 */
import { swappedDobSql } from './dob-swap.sql';
import type { Exec } from './linkage.sql';

export const TYPE1_KEYS = 'linkage_type1_keys';

const hmac = (message: string, key: string) => `hmac(convert_to(${message}, 'UTF8'), ${key}, 'sha256')`;
const dob = (a: string) => `to_char(${a}.birth_date, 'YYYY-MM-DD')`;

/** The step-6 key (sex + DOB + postcode) of the row or person aliased `a`, digested. */
export const step6Digest = (a: string, key: string) =>
  hmac(`'6|' || ${a}.sex || '|' || ${dob(a)} || '|' || ${a}.postcode`, key);
/** The step-7 key (sex + DOB) of the row or person aliased `a`, digested. */
export const step7Digest = (a: string, key: string) => hmac(`'7|' || ${a}.sex || '|' || ${dob(a)}`, key);
/** An NHS number (SQL expression), digested. */
export const subjectDigest = (nhs: string, key: string) => hmac(`'nhs|' || ${nhs}`, key);

/** Steps 6 and 7 can match this person at all (the exclusions of `demographicSteps`). */
const demographicKeyUsable = (a: string) =>
  `${a}.sex IN ('M', 'F') AND ${a}.birth_date IS NOT NULL
   AND NOT (date_part('month', ${a}.birth_date) = 1 AND date_part('day', ${a}.birth_date) = 1)`;
const postcodeUsable = (a: string) => `${a}.postcode IS NOT NULL AND ${a}.postcode NOT LIKE 'ZZ99%'`;

/** A Type 1 objector's digest at `step` matches the row aliased `a` (for steps 6 and 7). */
export const type1KeyShared = (step: 6 | 7, a: string, key: string) =>
  `EXISTS (SELECT 1 FROM ${TYPE1_KEYS} k WHERE k.step = ${step} AND k.digest = ${
    step === 6 ? step6Digest(a, key) : step7Digest(a, key)
  })`;

/**
 * A Type 1 objector's step-6 digest matches sex + DOB + postcode given as SQL expressions (step 7's
 * swapped DOB; a NULL DOB matches nothing).
 */
export const type1Step6KeyShared = (sex: string, birthDate: string, postcode: string, key: string) =>
  `EXISTS (SELECT 1 FROM ${TYPE1_KEYS} k WHERE k.step = 6 AND k.digest = ${hmac(
    `'6|' || ${sex} || '|' || to_char(${birthDate}, 'YYYY-MM-DD') || '|' || ${postcode}`,
    key,
  )})`;

/** The source tables whose rows link to patients (owned by this library). */
export const LINKED_SOURCES = ['hes_episodes', 'social_care_records'] as const;

/**
 * Keeps the demographic digests of every Type 1 objector listed in `objectors` (a table, or a
 * parenthesised sub-query, with an `nhs_number` column; the caller has established that each has an active Type 1 objection), from
 * what the centre holds of them in `patients` and every key of theirs in `patient_address_history`
 * (previous addresses) — call it before their data is deleted — and from `demographics` (a relation `nhs_number, sex, birth_date, postcode`, e.g. the Patient resources of
 * an extract, when it carries them). Rows already linked at steps 6 and 7 that these keys make
 * ambiguous are unlinked at once. Returns the number of digests newly kept.
 */
export async function keepType1Keys(
  exec: Exec,
  key: Buffer,
  objectors: string,
  demographics?: string,
): Promise<number> {
  await exec(`DROP TABLE IF EXISTS type1_keep`);
  await exec(`
    CREATE TEMP TABLE type1_keep ON COMMIT DROP AS
    SELECT DISTINCT s.nhs_number, s.sex, s.birth_date, s.postcode FROM (
      SELECT p.nhs_number, p.sex, p.birth_date, p.postcode FROM patients p
       WHERE p.nhs_number IN (SELECT o.nhs_number FROM ${objectors} o)
      UNION ALL -- their previous addresses (issue #26): candidates at steps 6 and 7 too
      SELECT p.nhs_number, h.sex, h.birth_date, h.postcode FROM patients p
        JOIN patient_address_history h ON h.patient_id = p.id
       WHERE p.nhs_number IN (SELECT o.nhs_number FROM ${objectors} o)
      ${
        demographics
          ? `UNION ALL
      SELECT d.nhs_number, d.sex, d.birth_date, d.postcode FROM ${demographics} d
       WHERE d.nhs_number IN (SELECT o.nhs_number FROM ${objectors} o)`
          : ''
      }
    ) s WHERE ${demographicKeyUsable('s')}`);
  const [{ found }] = await exec(`SELECT EXISTS (SELECT 1 FROM type1_keep) AS found`);
  if (!found) return 0;
  const [{ n }] = await exec(
    `WITH ins AS (
       INSERT INTO ${TYPE1_KEYS} (step, digest, subject)
       SELECT 7, ${step7Digest('o', '$1::bytea')}, ${subjectDigest('o.nhs_number', '$1::bytea')} FROM type1_keep o
       UNION
       SELECT 6, ${step6Digest('o', '$1::bytea')}, ${subjectDigest('o.nhs_number', '$1::bytea')} FROM type1_keep o
        WHERE ${postcodeUsable('o')}
       ON CONFLICT DO NOTHING
       RETURNING 1)
     SELECT count(*)::int AS n FROM ins`,
    [key],
  );
  // What was linked at step 6 or 7 and could now be the objector's is no longer anyone's. (Rows
  // linked to the objector themself lose their link when the data is deleted.)
  for (const table of LINKED_SOURCES)
    await exec(`
      UPDATE ${table} t SET patient_id = NULL, linkage_step = NULL
        FROM type1_keep o
       WHERE t.linkage_step IN (6, 7) AND t.nhs_number IS NULL
         AND t.sex = o.sex AND t.postcode = o.postcode AND ${postcodeUsable('o')}
         AND (t.birth_date = o.birth_date
              OR (t.linkage_step = 7 AND ${swappedDobSql('t.birth_date')} = o.birth_date))`);
  return Number(n);
}

/**
 * Keys shared with a Type 1 objector the centre may never have held (issue #26): the extractor marks
 * a patient who has the same sex, DOB and postcode as an objector of the practice (twins at one
 * address), since the objector's marker carries the NHS number alone. From `patients` (a relation
 * `nhs_number, sex, birth_date, postcode, shared_key`, an extract's Patients): the step-6 digest of
 * each marked patient's key is kept, under the subject `twin|<their NHS number>` (not the objector's:
 * nothing names them), and rows already linked at step 6 or 7 that it makes ambiguous are unlinked;
 * for the unmarked, such a digest is forgotten (the objector withdrew, or left the practice). Returns
 * the number of digests newly kept.
 */
export async function keepSharedType1Keys(exec: Exec, key: Buffer, patients: string): Promise<number> {
  await exec(
    `DELETE FROM ${TYPE1_KEYS} WHERE step = 6
        AND subject IN (SELECT ${hmac(`'twin|' || x.nhs_number`, '$1::bytea')} FROM ${patients} x
                         WHERE NOT x.shared_key)`,
    [key],
  );
  await exec(`DROP TABLE IF EXISTS type1_shared`);
  await exec(`
    CREATE TEMP TABLE type1_shared ON COMMIT DROP AS
    SELECT DISTINCT x.nhs_number, x.sex, x.birth_date, x.postcode FROM ${patients} x
     WHERE x.shared_key AND ${demographicKeyUsable('x')} AND ${postcodeUsable('x')}`);
  const [{ found }] = await exec(`SELECT EXISTS (SELECT 1 FROM type1_shared) AS found`);
  if (!found) return 0;
  const [{ n }] = await exec(
    `WITH ins AS (
       INSERT INTO ${TYPE1_KEYS} (step, digest, subject)
       SELECT 6, ${step6Digest('o', '$1::bytea')}, ${hmac(`'twin|' || o.nhs_number`, '$1::bytea')}
         FROM type1_shared o
       ON CONFLICT DO NOTHING
       RETURNING 1)
     SELECT count(*)::int AS n FROM ins`,
    [key],
  );
  for (const table of LINKED_SOURCES)
    await exec(`
      UPDATE ${table} t SET patient_id = NULL, linkage_step = NULL
        FROM type1_shared o
       WHERE t.linkage_step IN (6, 7) AND t.nhs_number IS NULL
         AND t.sex = o.sex AND t.postcode = o.postcode
         AND (t.birth_date = o.birth_date
              OR (t.linkage_step = 7 AND ${swappedDobSql('t.birth_date')} = o.birth_date))`);
  return Number(n);
}

/**
 * Forgets the digests of every NHS number in `stored` (a table, or a parenthesised sub-query, with an
 * `nhs_number` column: people whose Type 1 objection is withdrawn and whose data the centre is storing
 * again, so that their `patients` row is the candidate). Returns the number of digests removed.
 */
export async function forgetType1Keys(exec: Exec, key: Buffer, stored: string): Promise<number> {
  const [{ n }] = await exec(
    `WITH gone AS (
       DELETE FROM ${TYPE1_KEYS}
        WHERE subject IN (SELECT ${subjectDigest('w.nhs_number', '$1::bytea')} FROM ${stored} w)
       RETURNING 1)
     SELECT count(*)::int AS n FROM gone`,
    [key],
  );
  return Number(n);
}

/**
 * The re-link job's check: rows of `table` linked at step 6 (or 7) whose key a Type 1 objector's
 * digest shares at that step are unlinked (a load that linked them while the objection was being
 * committed). Returns how many.
 */
export async function unlinkType1Shared(exec: Exec, key: Buffer, table: string): Promise<number> {
  const [{ n }] = await exec(
    `WITH gone AS (
       UPDATE ${table} t SET patient_id = NULL, linkage_step = NULL
        WHERE t.linkage_step IN (6, 7) AND t.nhs_number IS NULL
          AND EXISTS (SELECT 1 FROM ${TYPE1_KEYS})
          AND (${type1KeyShared(6, 't', '$1::bytea')}
               OR (t.linkage_step = 7
                   AND ${type1Step6KeyShared('t.sex', swappedDobSql('t.birth_date'), 't.postcode', '$1::bytea')}))
       RETURNING 1)
     SELECT count(*)::int AS n FROM gone`,
    [key],
  );
  return Number(n);
}
