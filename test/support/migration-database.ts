import type { Client } from 'pg';
import type { QueryRunner } from 'typeorm';
import { createTestDatabase, TestDatabase } from '@custodian/testing';

/**
 * A fresh test database for one migration test file, as its superuser: registers the file's
 * `beforeAll`/`afterAll`. `sql()` is the connection; `runner()` hands it to a migration's `up`/`down`
 * as TypeORM's query runner (only `query` is used).
 */
export function migrationDatabase(): { sql: () => Client; runner: () => QueryRunner } {
  let db: TestDatabase | undefined;
  let sql: Client | undefined;
  beforeAll(async () => {
    db = await createTestDatabase();
    sql = await db.superuser();
  });
  afterAll(() => db?.drop());
  const open = () => {
    if (!sql) throw new Error('the migration database is not open yet');
    return sql;
  };
  return {
    sql: open,
    runner: () =>
      ({
        query: (s: string) =>
          open()
            .query(s)
            .then((r) => r.rows),
      }) as unknown as QueryRunner,
  };
}
