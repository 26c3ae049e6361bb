import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { EmbeddedDatabase, startEmbeddedPostgres } from '@custodian/database';

/**
 * The embedded PostgreSQL's log is the service's output (`npm start`). A failing COPY of a source
 * file printed the row it failed on — NHS number, birth date, postcode — as the error's CONTEXT (a
 * new user's tryout, 2026-12-07). Errors are logged terse, without the statement.
 */
describe('the embedded PostgreSQL log', () => {
  let dir: string;
  let db: EmbeddedDatabase;
  const lines: string[] = [];
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'embedded-log-'));
    db = await startEmbeddedPostgres({ dataDir: dir, password: 'log-test', log: (l) => lines.push(l) });
  }, 120_000);
  afterAll(async () => {
    await db?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps a failing row’s values out of it (no CONTEXT, no statement)', async () => {
    const c = new Client({ connectionString: db.url });
    await c.connect();
    try {
      await c.query(`CREATE TABLE stage (nhs text, born date, postcode text)`);
      const bad = '9866050300,1990-06-03,LS17 3LN,extra\n';
      const copy = c.query(copyFrom(`COPY stage FROM STDIN (FORMAT csv)`));
      await expect(pipeline(Readable.from([bad]), copy)).rejects.toThrow(/extra data/);
      await expect(c.query(`SELECT 1/0 WHERE '9866050300' IS NOT NULL`)).rejects.toThrow(/division by zero/);
    } finally {
      await c.end();
    }
    // The server writes its log as it goes: give it a moment.
    await new Promise((r) => setTimeout(r, 500));
    const log = lines.join('\n');
    expect(log).toMatch(/extra data after last expected column/);
    expect(log).not.toMatch(/9866050300|LS17 3LN|1990-06-03/);
  });
});
