import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Linkage of HES and social-care rows to patients (SPEC §3): the SQL helpers the loader validates
 * with (NHS number Modulus 11, postcode normalisation, safe date parsing, partial date of birth) and
 * the indexes the demographic steps probe. Every helper is IMMUTABLE, written so that it never raises
 * (bad input gives NULL / false), and inlinable SQL, so it costs no more than the expression itself.
 */
export class Linkage1764000004000 implements MigrationInterface {
  name = 'Linkage1764000004000';

  async up(q: QueryRunner): Promise<void> {
    // Digits are read with ascii() - 48, never cast, so any text is safe to pass.
    const digit = (i: number) => `(ascii(substr(n, ${i}, 1)) - 48)`;
    const sum = Array.from({ length: 9 }, (_, i) => `${digit(i + 1)} * ${10 - i}`).join(' + ');
    await q.query(`
      CREATE FUNCTION nhs_number_is_valid(n text) RETURNS boolean
      LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE
          WHEN n IS NULL THEN false
          WHEN n !~ '^[0-9]{10}$' OR n ~ '^(.)\\1{9}$' THEN false
          ELSE (11 - (${sum}) % 11) % 11 = ${digit(10)}
        END
      $$`);
    // (11 - s % 11) % 11 maps 11 → 0 and keeps 10, which never equals a single digit: invalid.

    await q.query(`
      CREATE FUNCTION postcode_normalise(p text) RETURNS text
      LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE
          WHEN upper(regexp_replace(p, '\\s+', '', 'g')) ~ '^[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}$'
          THEN regexp_replace(upper(regexp_replace(p, '\\s+', '', 'g')), '^(.+)(...)$', '\\1 \\2')
        END
      $$`);

    // A calendar date from year, month and day, or NULL when there is no such day (2023-02-30).
    // make_date is only reached for a real day (a CASE arm whose condition folds to false is
    // dropped by the planner before it is simplified), so the function never raises.
    await q.query(`
      CREATE FUNCTION date_from_parts(y int, m int, d int) RETURNS date
      LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE
          WHEN y BETWEEN 1 AND 9999 AND m BETWEEN 1 AND 12 AND d BETWEEN 1 AND
            CASE WHEN m IN (4, 6, 9, 11) THEN 30
                 WHEN m = 2 THEN CASE WHEN (y % 4 = 0 AND y % 100 <> 0) OR y % 400 = 0 THEN 29 ELSE 28 END
                 ELSE 31 END
          THEN make_date(y, m, d)
        END
      $$`);
    // ISO 8601 (YYYY-MM-DD, what the synthetic generator writes), DD/MM/YYYY and YYYYMMDD (as
    // HES extracts are often delivered). Anything else, or an impossible day, is NULL.
    await q.query(`
      CREATE FUNCTION date_parse_lenient(s text) RETURNS date
      LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE
          WHEN s ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'
            THEN date_from_parts(substr(s, 1, 4)::int, substr(s, 6, 2)::int, substr(s, 9, 2)::int)
          WHEN s ~ '^[0-9]{2}/[0-9]{2}/[0-9]{4}$'
            THEN date_from_parts(substr(s, 7, 4)::int, substr(s, 4, 2)::int, substr(s, 1, 2)::int)
          WHEN s ~ '^[0-9]{8}$'
            THEN date_from_parts(substr(s, 1, 4)::int, substr(s, 5, 2)::int, substr(s, 7, 2)::int)
        END
      $$`);

    // Partial date of birth (SPEC §3): two of year, month and day agree, or the year agrees and the
    // day and month are swapped. Mirrors partialDobMatch() in libs/linkage/src/linkage-rules.ts.
    await q.query(`
      CREATE FUNCTION dob_partial_match(a date, b date) RETURNS boolean
      LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT (date_part('year', a) = date_part('year', b))::int
             + (date_part('month', a) = date_part('month', b))::int
             + (date_part('day', a) = date_part('day', b))::int >= 2
          OR (date_part('year', a) = date_part('year', b)
              AND date_part('month', a) = date_part('day', b)
              AND date_part('day', a) = date_part('month', b))
      $$`);

    // Steps 6 and 7 probe patients by sex and date of birth (and postcode): index-only, id included.
    await q.query(
      `CREATE INDEX patients_sex_dob_postcode_idx ON patients (sex, birth_date, postcode) INCLUDE (id)`,
    );
    // The re-link job's rows for steps 6 and 7: still unlinked and without an NHS number (a small
    // share), read index-only instead of scanning the whole table.
    await q.query(`
      CREATE INDEX hes_episodes_unlinked_demographics_idx ON hes_episodes (sex, birth_date) INCLUDE (id, postcode)
       WHERE nhs_number IS NULL AND patient_id IS NULL`);
    await q.query(`
      CREATE INDEX social_care_unlinked_demographics_idx ON social_care_records (sex, birth_date) INCLUDE (id, postcode)
       WHERE nhs_number IS NULL AND patient_id IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX social_care_unlinked_demographics_idx`);
    await q.query(`DROP INDEX hes_episodes_unlinked_demographics_idx`);
    await q.query(`DROP INDEX patients_sex_dob_postcode_idx`);
    await q.query(`DROP FUNCTION dob_partial_match(date, date)`);
    await q.query(`DROP FUNCTION date_parse_lenient(text)`);
    await q.query(`DROP FUNCTION date_from_parts(int, int, int)`);
    await q.query(`DROP FUNCTION postcode_normalise(text)`);
    await q.query(`DROP FUNCTION nhs_number_is_valid(text)`);
  }
}
