import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The differencing ledger's persons as sets, not rows (#19's anonymise target, #27's guard).
 *
 * `release_ledger_persons` held one row per person per record-level release: 70 bytes and an
 * index entry each, 3.1 GB after 45 releases of the 1M-patient benchmark, and its one INSERT of a
 * million rows took 5.4 s of a 28 s anonymised release (docs/BENCHMARKS.md, "Anonymise at 1M,
 * 2026-12-06"). Now `release_ledger_members` holds, per release, state and part, one array of NHS
 * numbers as `bigint` (ten digits fit; 8 bytes each, uncompressed and out of line): about 8 MB per
 * million persons, 128 rows per release whatever its size, written by one aggregate.
 *
 * `part` is the NHS number modulo 64, so that no array outgrows what a server holds comfortably in
 * memory at national scale (55M persons: ~860k a part, 7 MB). A person is in a release's ledger
 * once, by construction (as before, migration 1764000045000). The foreign key is a plain one again
 * (a check per row is a check per part now), with `ON DELETE CASCADE`.
 *
 * Existing rows are carried over. A row whose NHS number is not ten digits (the engine wrote any
 * number it held; it refuses such a release from now on) becomes a negative number, distinct within
 * its release: it matches no one later, so a person released under it counts as one who left (and is
 * covered, as the guard covers any departure) rather than vanishing from the ledger unseen.
 */
export class ReleaseLedgerMembers1764000049000 implements MigrationInterface {
  name = 'ReleaseLedgerMembers1764000049000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE release_ledger_members (
        release_id uuid NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
        state text NOT NULL CHECK (state IN ('released', 'withheld')),
        part smallint NOT NULL CHECK (part BETWEEN 0 AND 63),
        nhs bigint[] NOT NULL,
        PRIMARY KEY (release_id, state, part)
      )`);
    // Random ten-digit numbers hardly compress; compressing them costs the writer time for nothing.
    await q.query(`ALTER TABLE release_ledger_members ALTER COLUMN nhs SET STORAGE EXTERNAL`);
    await q.query(`
      INSERT INTO release_ledger_members (release_id, state, part, nhs)
      SELECT release_id, state, (((n % 64) + 64) % 64)::smallint, array_agg(n)
        FROM (SELECT release_id, state,
                     CASE WHEN nhs ~ '^[0-9]{10}$' THEN nhs::bigint
                          ELSE -row_number() OVER (PARTITION BY release_id, nhs ~ '^[0-9]{10}$' ORDER BY nhs) END AS n
                FROM release_ledger_persons) x
       GROUP BY release_id, state, (((n % 64) + 64) % 64)`);
    await q.query(`DROP TRIGGER releases_delete_ledger_persons ON releases`);
    await q.query(`DROP FUNCTION releases_delete_ledger_persons()`);
    await q.query(`DROP TABLE release_ledger_persons`);
    await q.query(`DROP FUNCTION release_ledger_persons_release_exists()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE release_ledger_persons (
        release_id uuid NOT NULL,
        nhs char(10) NOT NULL,
        state text NOT NULL CHECK (state IN ('released', 'withheld'))
      )`);
    await q.query(`CREATE INDEX release_ledger_persons_release_idx ON release_ledger_persons (release_id)`);
    await q.query(`
      INSERT INTO release_ledger_persons (release_id, nhs, state)
      SELECT m.release_id, lpad(u.n::text, 10, '0'), m.state
        FROM release_ledger_members m CROSS JOIN LATERAL unnest(m.nhs) AS u(n)`);
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
    await q.query(`DROP TABLE release_ledger_members`);
  }
}
