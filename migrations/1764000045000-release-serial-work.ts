import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The release's serial work cut (issue #22): the differencing ledger's persons
 * (`release_ledger_persons`, migration 1764000023000) written without a check per row.
 *
 * A 1M-person release inserts a million ledger rows in its preparation; with a foreign key to
 * `releases` (a trigger per inserted row) and a primary key over (release, NHS number) that insert
 * took 50–59 s of the release on the loaded benchmark machine (docs/BENCHMARKS.md). Now:
 * - the foreign key is one set-based check per statement (`AFTER INSERT OR UPDATE … FOR EACH
 *   STATEMENT` over the transition table: every release named by the new rows exists, else the
 *   statement fails with `foreign_key_violation`, as the key did), and deleting a release deletes
 *   its ledger rows (a statement trigger on `releases`, as `ON DELETE CASCADE` did);
 * - the rows are found by release (`release_ledger_persons_release_idx`, whose equal keys the
 *   B-tree stores once per page); a person is in a release's ledger once by construction (the
 *   working set has one row per NHS number; the guard adds earlier withheld persons only where
 *   they are not already there), which the primary key no longer re-checks per row.
 */
export class ReleaseSerialWork1764000045000 implements MigrationInterface {
  name = 'ReleaseSerialWork1764000045000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE release_ledger_persons DROP CONSTRAINT release_ledger_persons_release_id_fkey`,
    );
    await q.query(`ALTER TABLE release_ledger_persons DROP CONSTRAINT release_ledger_persons_pkey`);
    await q.query(`CREATE INDEX release_ledger_persons_release_idx ON release_ledger_persons (release_id)`);
    await q.query(`
      CREATE FUNCTION release_ledger_persons_release_exists() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM (SELECT DISTINCT release_id FROM added) a
                    WHERE NOT EXISTS (SELECT 1 FROM releases r WHERE r.id = a.release_id)) THEN
          RAISE EXCEPTION 'release_ledger_persons: a row of a release that does not exist'
            USING ERRCODE = 'foreign_key_violation';
        END IF;
        RETURN NULL;
      END $$`);
    for (const event of ['INSERT', 'UPDATE'])
      await q.query(`
        CREATE TRIGGER release_ledger_persons_${event.toLowerCase()}_release
          AFTER ${event} ON release_ledger_persons REFERENCING NEW TABLE AS added
          FOR EACH STATEMENT EXECUTE FUNCTION release_ledger_persons_release_exists()`);
    await q.query(`
      CREATE FUNCTION releases_delete_ledger_persons() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        DELETE FROM release_ledger_persons l USING gone g WHERE l.release_id = g.id;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER releases_delete_ledger_persons AFTER DELETE ON releases
        REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION releases_delete_ledger_persons()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER releases_delete_ledger_persons ON releases`);
    await q.query(`DROP FUNCTION releases_delete_ledger_persons()`);
    for (const event of ['insert', 'update'])
      await q.query(`DROP TRIGGER release_ledger_persons_${event}_release ON release_ledger_persons`);
    await q.query(`DROP FUNCTION release_ledger_persons_release_exists()`);
    await q.query(`DROP INDEX release_ledger_persons_release_idx`);
    await q.query(`ALTER TABLE release_ledger_persons ADD PRIMARY KEY (release_id, nhs)`);
    await q.query(
      `ALTER TABLE release_ledger_persons ADD FOREIGN KEY (release_id) REFERENCES releases(id) ON DELETE CASCADE`,
    );
  }
}
