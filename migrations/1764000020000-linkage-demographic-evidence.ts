import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Step 6 weighs every person the centre knows to have a row's demographics (issue #26,
 * docs/LINKAGE.md "Steps 6 and 7: precision"):
 *
 * - patients and source rows carrying an NHS number, looked up by sex and postcode (the date of birth,
 *   is compared on the few entries found): for every row without an NHS number the
 *   linkage counts the held patients and the people named on other rows that fit it;
 * - rows without an NHS number (linked by step 6 (or by step 7 before issue #26), or not at all), which every load and re-link
 *   reviews.
 */
export class LinkageDemographicEvidence1764000020000 implements MigrationInterface {
  name = 'LinkageDemographicEvidence1764000020000';

  async up(q: QueryRunner): Promise<void> {
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
  }
}
