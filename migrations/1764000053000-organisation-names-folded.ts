import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Organisation names are unique whatever their case: "Probe12 Univ" and "probe12 univ" were two
 * organisations, which read as one on the public register (an outsider's probe, 2026-12-07). The
 * exact-name constraint stays. An install that already holds two names differing only in case
 * keeps them, and the index is not made there (renaming an organisation is an administrator's
 * decision, not a migration's): such an install refuses only exact repeats, as before, and the
 * migration says so (a warning); the index is `CREATE UNIQUE INDEX organisations_name_folded_unique
 * ON organisations (lower(name))` once they are renamed. `lower` folds by the database's LC_CTYPE:
 * under the C locale A–Z only (É and é stay apart); the embedded server and a UTF-8 locale fold
 * every letter.
 */
export class OrganisationNamesFolded1764000053000 implements MigrationInterface {
  name = 'OrganisationNamesFolded1764000053000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM organisations GROUP BY lower(name) HAVING count(*) > 1) THEN
          CREATE UNIQUE INDEX organisations_name_folded_unique ON organisations (lower(name));
        ELSE
          RAISE WARNING 'organisations differ only in the case of their names: organisations_name_folded_unique not made; rename them and create it (see this migration)';
        END IF;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS organisations_name_folded_unique`);
  }
}
