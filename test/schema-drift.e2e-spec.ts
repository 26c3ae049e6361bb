import { DataSource } from 'typeorm';
import { createTestApp, TestApp } from '@custodian/testing';

/**
 * The migrations and the entities describe the same tables: TypeORM's schema builder, asked what
 * it would change to make the migrated database match the entities, has no table, column, type,
 * nullability or default to change. Foreign keys, indexes and CHECK / UNIQUE constraints are
 * owned by the migrations and not repeated on the entities, so the builder would drop them: those
 * statements (and only those) are expected.
 */
describe('schema drift', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('the migrated schema has every entity column as declared (no pending change but migration-owned constraints)', async () => {
    const ds = t.app.get(DataSource);
    const { upQueries } = await ds.driver.createSchemaBuilder().log();
    const migrationOwned = /^(ALTER TABLE "\w+" DROP CONSTRAINT "\w+"|DROP INDEX "public"\."\w+")$/;
    expect(upQueries.map((q) => q.query).filter((q) => !migrationOwned.test(q))).toEqual([]);
  });

  it('no dead view: release_register_lines (unused since the register owns its lines) is dropped', async () => {
    const { rows } = await t.sql.query(`SELECT to_regclass('public.release_register_lines') AS v`);
    expect(rows[0].v).toBeNull();
  });
});
