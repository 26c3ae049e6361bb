import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { inject } from 'vitest';

/**
 * probe-22 #2 (outside tester, fresh clone, README's `npm run cli -- <command>`).
 *
 * apps/cli/src/main.ts prepares the database (starts the embedded PostgreSQL, or connects to
 * DATABASE_URL) and applies every migration before commander reads the arguments, for every
 * command but extract, synth and verify-register. So:
 * - `npm run cli -- --help`, `npm run cli` alone, `npm run cli -- migrate --help` (and
 *   create-admin, verify-audit) fail with "another process (pid …) is running the embedded
 *   database" while `npm start` runs (exit 1, no help), and with the database's error when it is
 *   unreachable;
 * - the same commands, and a misspelt command (`npm run cli -- migarte`), **migrate the database**
 *   (against DATABASE_URL: a production schema changed by asking for help or by a typo); on a fresh
 *   clone they initialise a PostgreSQL cluster under ./.data first.
 */
const run = promisify(execFile);
const cli = (args: string[], env: Record<string, string>) =>
  run('node', ['dist/apps/cli/src/main.js', ...args], {
    env: { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'silent', ...env },
    timeout: 60_000,
  }).then(
    (r) => ({ code: 0, out: `${r.stdout}${r.stderr}` }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({
      code: e.code ?? -1,
      out: `${e.stdout ?? ''}${e.stderr ?? ''}`,
    }),
  );

describe('probe-22 #2: the CLI answers help and a wrong command without the database', () => {
  it('prints help (exit 0) when the database cannot be reached', async () => {
    const env = { DATABASE_URL: 'postgres://nobody:nothing@127.0.0.1:1/none' };
    const problems: string[] = [];
    for (const args of [
      ['--help'],
      ['migrate', '--help'],
      ['create-admin', '--help'],
      ['verify-audit', '--help'],
    ]) {
      const r = await cli(args, env);
      // Today, for each: exit 1, "error: connect ECONNREFUSED 127.0.0.1:1", no help.
      if (r.code !== 0 || !/Usage:/.test(r.out))
        problems.push(`cli ${args.join(' ')} → exit ${r.code}: ${r.out.trim().split('\n')[0]}`);
    }
    expect(problems).toEqual([]);
  });

  describe('on an empty database', () => {
    const name = `probe22_empty_${process.pid}_${Date.now()}`;
    const adminUrl = inject('pgAdminUrl');
    const url = (() => {
      const u = new URL(adminUrl);
      u.pathname = `/${name}`;
      return u.toString();
    })();
    const tables = async () => {
      const c = new Client({ connectionString: url });
      await c.connect();
      try {
        const { rows } = await c.query(
          `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')`,
        );
        return (rows[0] as { n: number }).n;
      } finally {
        await c.end();
      }
    };
    beforeAll(async () => {
      const a = new Client({ connectionString: adminUrl });
      await a.connect();
      await a.query(`CREATE DATABASE ${name}`);
      await a.end();
    });
    afterAll(async () => {
      const a = new Client({ connectionString: adminUrl });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    });

    it('asking for help, or misspelling a command, changes nothing in the database', async () => {
      expect(await tables()).toBe(0);
      const typo = await cli(['migarte'], { DATABASE_URL: url });
      expect(typo.code).toBe(1);
      expect(typo.out).toMatch(/unknown command 'migarte'/);
      // Today: 43 tables after the typo (every migration applied, then "unknown command").
      expect(await tables()).toBe(0);
      const help = await cli(['--help'], { DATABASE_URL: url });
      expect(help.code).toBe(0);
      expect(await tables()).toBe(0);
    });
  });
});
