import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The earliest agreement version whose releases an agreement keeps (`releases_from`; null: its own
 * version). An amendment that changes only the term (`durationMonths`) leaves every release's
 * content and recipients as they were agreed: its agreement keeps the releases the version before it
 * kept, where any other amendment supersedes them (destroyed, downloads stopped: probe 23). Before
 * this a term-only amendment destroyed every release of the bid.
 */
export class AgreementReleasesFrom1764000063000 implements MigrationInterface {
  name = 'AgreementReleasesFrom1764000063000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE agreements ADD COLUMN releases_from int`);
    await q.query(
      `ALTER TABLE agreements ADD CONSTRAINT agreements_releases_from_check
         CHECK (releases_from IS NULL OR (releases_from >= 1 AND releases_from <= version))`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE agreements DROP COLUMN releases_from`);
  }
}
