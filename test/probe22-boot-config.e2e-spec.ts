import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestDatabase, TestDatabase } from '@custodian/testing';

/**
 * probe-22 #3 (outside tester, SPEC §8: "Configuration by environment, validated at boot: …
 * `DATA_DIR` (release files) …"; README: "a bad value stops the process with a message naming the
 * variable").
 *
 * - A `DATA_DIR` the service cannot create or write (here: a path under a regular file) is not
 *   checked: the service starts, says "Custodian is running", answers /api/health "ok", and the
 *   first release fails later.
 * - A `DATABASE_URL` with a wrong password, or a `PORT` already taken, stops the start with a Node
 *   stack trace ("Custodian failed to start: error: password authentication failed … at
 *   parseErrorMessage (…/pg-protocol/dist/parser.js…)"), not a message naming the variable.
 */
function start(env: Record<string, string>, ms = 60_000) {
  return new Promise<{ code: number | null; out: string; running: boolean }>((resolve) => {
    const child = spawn(process.execPath, ['dist/apps/api/src/main.js'], {
      env: {
        ...process.env,
        CUSTODIAN_STATE_DIR: mkdtempSync(path.join(tmpdir(), 'probe22-boot-')),
        DEMO_SEED: 'false',
        RUN_WORKER: 'false',
        LOG_LEVEL: 'silent',
        ...env,
      },
    });
    let out = '';
    let running = false;
    const timer = setTimeout(() => child.kill('SIGTERM'), ms);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (!running && out.includes('Custodian is running')) {
        running = true;
        child.kill('SIGTERM');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, running });
    });
  });
}

describe('probe-22 #3: bad configuration stops the start with a clear message', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db?.drop());

  it('refuses a DATA_DIR it cannot create', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'probe22-datadir-')), 'a-file');
    writeFileSync(file, 'not a directory');
    const r = await start({ DATABASE_URL: db.url, PORT: '0', DATA_DIR: path.join(file, 'releases') });
    // Today: "Custodian is running" (the test stops it).
    expect(r.running, r.out).toBe(false);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/DATA_DIR/);
  });

  it('a wrong DATABASE_URL password: one line naming the problem, no stack trace', async () => {
    const u = new URL(db.url);
    u.password = 'probe22-wrong-password';
    const r = await start({ DATABASE_URL: u.toString(), PORT: '0' });
    expect(r.running).toBe(false);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/password authentication failed/);
    // Today: six "    at …" lines of pg-protocol's parser.
    expect(r.out).not.toMatch(/^\s+at /m);
  });

  it('a PORT already taken: a message naming PORT, no stack trace', async () => {
    const taken: Server = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    const port = (taken.address() as { port: number }).port;
    try {
      const r = await start({ DATABASE_URL: db.url, PORT: String(port) });
      expect(r.running).toBe(false);
      expect(r.code).toBe(1);
      // Today: "ERROR [NestApplication] Error: listen EADDRINUSE …" then the same with four "at" lines.
      expect(r.out).not.toMatch(/^\s+at /m);
      expect(r.out).toMatch(/PORT/);
    } finally {
      taken.close();
    }
  });
});
