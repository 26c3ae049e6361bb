import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Steps 6 and 7 weigh every person the centre knows to have a row's demographics (issue #26,
 * docs/LINKAGE.md "Steps 6 and 7: precision"):
 *
 * - `dob_partial_variants(d)`: every date that partially matches `d` (`dob_partial_match`), so that
 *   step 7 (sex + postcode + partial DOB) can ask whether a Type 1 objector's kept step-6 digest
 *   (sex + DOB + postcode, keyed) has any such date;
 * - patients and source rows carrying an NHS number, looked up by sex and postcode (the date of birth,
 *   exact or partial, is compared on the few entries found): for every row without an NHS number the
 *   linkage counts the held patients and the people named on other rows that fit it;
 * - rows without an NHS number (linked by steps 6 and 7, or not at all), which every load and re-link
 *   reviews.
 */
export class LinkageDemographicEvidence1764000020000 implements MigrationInterface {
  name = 'LinkageDemographicEvidence1764000020000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION dob_partial_variants(d date) RETURNS SETOF date
      LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
        SELECT DISTINCT v FROM (
          SELECT date_trunc('month', d)::date + k AS v FROM generate_series(0, 30) k
          UNION ALL
          SELECT (date_trunc('year', d) + make_interval(months => m))::date + (date_part('day', d)::int - 1)
            FROM generate_series(0, 11) m
          UNION ALL
          SELECT (d + make_interval(years => y))::date
            FROM generate_series(1800 - date_part('year', d)::int, 2200 - date_part('year', d)::int) y
          UNION ALL
          SELECT (date_trunc('year', d) + make_interval(months => date_part('day', d)::int - 1))::date
                 + (date_part('month', d)::int - 1)
           WHERE date_part('day', d) <= 12
        ) c
        WHERE dob_partial_match(d, v)
      $$`);
    await q.query(
      `CREATE INDEX patients_sex_postcode_idx ON patients (sex, postcode) INCLUDE (birth_date, nhs_number)`,
    );
    for (const [table, prefix] of [
      ['hes_episodes', 'hes_episodes'],
      ['social_care_records', 'social_care'],
    ]) {
      await q.query(`
        CREATE INDEX ${prefix}_named_demographics_idx ON ${table} (sex, postcode) INCLUDE (birth_date, nhs_number)
         WHERE nhs_number IS NOT NULL`);
      await q.query(`CREATE INDEX ${prefix}_no_nhs_idx ON ${table} (id) WHERE nhs_number IS NULL`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const prefix of ['hes_episodes', 'social_care']) {
      await q.query(`DROP INDEX ${prefix}_no_nhs_idx`);
      await q.query(`DROP INDEX ${prefix}_named_demographics_idx`);
    }
    await q.query(`DROP INDEX patients_sex_postcode_idx`);
    await q.query(`DROP FUNCTION dob_partial_variants(date)`);
  }
}
