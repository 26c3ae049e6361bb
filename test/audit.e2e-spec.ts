import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { chainHash, ChainedFields, GENESIS_HASH } from '@custodian/audit';
import { APP_CONFIG, type AppConfig } from '@custodian/core';
import { createTestApp, TestApp } from '@custodian/testing';
import { RegisterLogService } from '@custodian/register';

const run = promisify(execFile);

/** `cli verify-audit` on the file's database: its exit code and the JSON of its last line. */
async function verifyAuditCli(t: TestApp): Promise<{ code: number; result: Record<string, unknown> }> {
  const out = await run('node', ['dist/apps/cli/src/main.js', 'verify-audit'], {
    env: {
      ...process.env,
      DATABASE_URL: t.db.url,
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      // The deployment's key, as its CLI has it: the checkpoint's signature is checked with it.
      REGISTER_SIGNING_KEY: t.app.get<AppConfig>(APP_CONFIG).registerSigningKey,
    },
  }).catch((e: { code: number; stdout: string }) => e);
  return {
    code: 'code' in out ? Number(out.code) : 0,
    result: JSON.parse(out.stdout.trim().split('\n').pop()!),
  };
}

describe('audit trail', () => {
  let t: TestApp;
  let auditor: Awaited<ReturnType<TestApp['as']>>;
  beforeAll(async () => {
    t = await createTestApp();
    auditor = await t.as('auditor');
    const admin = await t.as('admin');
    for (let i = 0; i < 5; i++)
      await t.http
        .post('/api/organisations')
        .set(admin.auth)
        .send({ name: `Audited ${i}`, kind: 'charity' })
        .expect(201);
  });
  afterAll(() => t?.close());

  it('is readable by auditors, paged and filtered', async () => {
    const page = await t.http.get('/api/audit?limit=3&page=1').set(auditor.auth).expect(200);
    expect(page.body.items).toHaveLength(3);
    expect(page.body.total).toBeGreaterThan(5);
    const orgs = await t.http.get('/api/audit?action=organisation.create').set(auditor.auth).expect(200);
    expect(orgs.body.items.map((i: { action: string }) => i.action)).toEqual(
      Array(5).fill('organisation.create'),
    );
    await t.http.get('/api/audit?limit=100000').set(auditor.auth).expect(400);
    // A reversed range is a 400 naming it, not an empty page (an outsider's probe); so on the
    // public register. One day, or one instant, is a range.
    const reversed = await t.http
      .get('/api/audit?from=2026-06-02&to=2026-06-01T23:59:59Z')
      .set(auditor.auth)
      .expect(400);
    expect(reversed.body).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(JSON.stringify(reversed.body.message)).toContain('to must not be before from');
    await t.http.get('/api/audit?from=2026-06-01&to=2026-06-01').set(auditor.auth).expect(200);
    await t.http.get('/api/register?from=2026-06-02&to=2026-06-01').expect(400);
    await t.http.get('/api/register?from=2026-06-01&to=2026-06-01').expect(200);
  });

  it('takes every RFC 3339 date-time the document declares (probe 17: a leap second, `t` and `z`)', async () => {
    const all = (await t.http.get('/api/audit?limit=500').set(auditor.auth).expect(200)).body.total;
    for (const from of ['2016-12-31T23:59:60Z', '2016-12-31T18:59:60-05:00', '2016-12-31t23:59:59z']) {
      const res = await t.http.get(`/api/audit?from=${encodeURIComponent(from)}`).set(auditor.auth);
      expect(res.status, from).toBe(200);
      expect(res.body.total, from).toBe(all);
    }
    // after every entry: lower case read as upper, not as something else
    const later = await t.http.get('/api/audit?from=2999-12-31t23:59:59z').set(auditor.auth).expect(200);
    expect(later.body.total).toBe(0);
    // the leap second is the next minute's start: a range ending at it is not before one from 23:59:59
    await t.http
      .get('/api/audit?from=2016-12-31T23:59:59Z&to=2016-12-31T23:59:60Z')
      .set(auditor.auth)
      .expect(200);
    await t.http
      .get('/api/audit?from=2017-01-01T00:00:01Z&to=2016-12-31T23:59:60Z')
      .set(auditor.auth)
      .expect(400);
    // a leap second anywhere but at 23:59 UTC is no time
    await t.http.get('/api/audit?from=2026-12-07T09:30:60Z').set(auditor.auth).expect(400);
  });

  it('verifies a clean chain', async () => {
    const res = await t.http.get('/api/audit/verify').set(auditor.auth).expect(200);
    expect(res.body).toMatchObject({ ok: true });
    expect(res.body.checked).toBeGreaterThan(5);
  });

  it('cannot be changed or deleted by the application role', async () => {
    const c = t.sql;
    await c.query('BEGIN');
    try {
      await c.query('SET LOCAL ROLE custodian_app');
      await expect(c.query(`UPDATE audit_log SET action = 'x'`)).rejects.toThrow(/permission denied/);
    } finally {
      await c.query('ROLLBACK');
    }
    for (const sql of [`DELETE FROM audit_log`, `TRUNCATE audit_log`]) {
      await c.query('BEGIN');
      try {
        await c.query('SET LOCAL ROLE custodian_app');
        await expect(c.query(sql)).rejects.toThrow(/permission denied/);
      } finally {
        await c.query('ROLLBACK');
      }
    }
    // Even the owner is stopped by the trigger; only a superuser bypassing triggers could edit it.
    await expect(c.query(`UPDATE audit_log SET action = 'x'`)).rejects.toThrow(/append-only/);
  });

  it('reports the exact entry a superuser tampered with, and a deleted entry at its successor', async () => {
    const { rows } = await t.sql.query(`SELECT id::text FROM audit_log ORDER BY id LIMIT 6`);
    const target = rows[3].id;
    await t.sql.query(`SET session_replication_role = replica`);
    await t.sql.query(`UPDATE audit_log SET details = '{"forged": true}' WHERE id = $1`, [target]);
    let res = await t.http.get('/api/audit/verify').set(auditor.auth).expect(200);
    expect(res.body).toMatchObject({ ok: false, firstBroken: { id: target, reason: 'hash_mismatch' } });

    const cli = await verifyAuditCli(t);
    expect(cli.code).toBe(1);
    expect(cli.result).toMatchObject({
      ok: false,
      firstBroken: { id: target },
    });

    await t.sql.query(`DELETE FROM audit_log WHERE id = $1`, [target]);
    await t.sql.query(`SET session_replication_role = origin`);
    res = await t.http.get('/api/audit/verify').set(auditor.auth).expect(200);
    expect(res.body).toMatchObject({ ok: false, firstBroken: { id: rows[4].id, reason: 'broken_link' } });
  });
});

/**
 * Appends `n` valid entries after the current head, set-based: the hashes are computed with the
 * chain's own function and the rows inserted in one statement (10 000 appends one by one take
 * minutes on a loaded machine; the chain is the same).
 */
async function growChain(t: TestApp, n: number): Promise<void> {
  const { rows } = await t.sql.query(`SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1`);
  let prev: string = rows[0]?.hash ?? GENESIS_HASH;
  const cols: unknown[][] = [[], [], [], [], []];
  const start = Date.now();
  for (let i = 0; i < n; i++) {
    const e: ChainedFields = {
      at: new Date(start + i),
      actorId: null,
      actorRoles: ['admin'],
      action: 'test.bulk',
      outcome: 'success',
      bidId: null,
      subjectType: 'test',
      subjectId: String(i),
      requestId: null,
      ip: null,
      details: { i },
    };
    const hash = chainHash(prev, e);
    [e.at.toISOString(), String(i), JSON.stringify(e.details), prev, hash].forEach((v, k) => cols[k].push(v));
    prev = hash;
  }
  await t.sql.query(
    `INSERT INTO audit_log (at, actor_roles, action, outcome, subject_type, subject_id, details, prev_hash, hash)
     SELECT at, '{admin}', 'test.bulk', 'success', 'test', sid, d::jsonb, p, h
       FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS x(at, sid, d, p, h, o)
      ORDER BY o`,
    cols,
  );
}

describe('audit trail beyond the first few entries', () => {
  let t: TestApp;
  let auditor: Awaited<ReturnType<TestApp['as']>>;
  beforeAll(async () => {
    t = await createTestApp();
    auditor = await t.as('auditor');
  });
  afterAll(() => t?.close());

  it('lists the newest entries first past id 100 (ids compared as numbers, not text)', async () => {
    await growChain(t, 150);
    const { rows } = await t.sql.query(
      `SELECT id::text AS id FROM audit_log ORDER BY audit_log.id DESC LIMIT 50`,
    );
    expect(Number(rows[0].id)).toBeGreaterThan(150);
    const page = await t.http.get('/api/audit?limit=50').set(auditor.auth).expect(200);
    expect(page.body.items.map((i: { id: string }) => i.id)).toEqual(rows.map((r) => r.id));
    const second = await t.http.get('/api/audit?limit=50&page=2').set(auditor.auth).expect(200);
    expect(BigInt(second.body.items[0].id)).toBe(BigInt(rows[49].id) - 1n);
  });

  it('verifies a chain of more than 10 000 entries, through the API and the CLI', async () => {
    await growChain(t, 10_050);
    const res = await t.http.get('/api/audit/verify').set(auditor.auth).expect(200);
    const { rows } = await t.sql.query(`SELECT count(*)::int AS n FROM audit_log`);
    expect(res.body).toEqual({ ok: true, checked: rows[0].n });
    expect(rows[0].n).toBeGreaterThan(10_000);
    const cli = await verifyAuditCli(t);
    expect(cli).toMatchObject({ code: 0, result: { ok: true } });

    // Tampering deep in the chain is still found at the exact entry, by both.
    const { rows: deep } = await t.sql.query(
      `SELECT id::text AS id FROM audit_log WHERE action = 'test.bulk' ORDER BY audit_log.id OFFSET 9000 LIMIT 1`,
    );
    await t.sql.query(`SET session_replication_role = replica`);
    await t.sql.query(`UPDATE audit_log SET details = '{"i": -1}' WHERE id = $1`, [deep[0].id]);
    await t.sql.query(`SET session_replication_role = origin`);
    const broken = await t.http.get('/api/audit/verify').set(auditor.auth).expect(200);
    expect(broken.body).toMatchObject({
      ok: false,
      firstBroken: { id: deep[0].id, reason: 'hash_mismatch' },
    });
    const failed = await verifyAuditCli(t);
    expect(failed.code).toBe(1);
    expect(failed.result).toMatchObject({
      ok: false,
      firstBroken: { id: deep[0].id, reason: 'hash_mismatch' },
    });
  });
});

describe('cli create-admin', () => {
  it('creates a user who can sign in', async () => {
    const t = await createTestApp();
    try {
      const out = await run(
        'node',
        [
          'dist/apps/cli/src/main.js',
          'create-admin',
          '--email',
          'Cli.Admin@example.org',
          '--password',
          'cli-admin-password-1',
        ],
        {
          env: { ...process.env, DATABASE_URL: t.db.url, NODE_ENV: 'test', LOG_LEVEL: 'silent' },
        },
      );
      expect(out.stdout).toMatch(/created cli\.admin@example\.org \(admin\)/);
      await t.login('cli.admin@example.org', 'cli-admin-password-1');
      // The API's password rules: a common password is refused, no user is made, and the command
      // exits non-zero (it exited 0: nest-commander's default service error handler).
      const weak = await run(
        'node',
        [
          'dist/apps/cli/src/main.js',
          'create-admin',
          '--email',
          'weak.admin@example.org',
          '--password',
          'password1234',
        ],
        { env: { ...process.env, DATABASE_URL: t.db.url, NODE_ENV: 'test', LOG_LEVEL: 'silent' } },
      ).then(
        (r) => ({ ...r, code: 0 }),
        (e: { stdout?: string; stderr?: string; code?: number }) => e,
      );
      expect(`${weak.stdout}${weak.stderr}`).toMatch(/too easy to guess/);
      expect(weak.code).toBe(1);
      const { rows } = await t.sql.query(
        `SELECT count(*)::int AS n FROM users WHERE email = 'weak.admin@example.org'`,
      );
      expect(rows[0].n).toBe(0);
      // An address the sign-in would refuse: no administrator who can never sign in (one was made,
      // exit 0: a new user's tryout).
      const odd = await run(
        'node',
        [
          'dist/apps/cli/src/main.js',
          'create-admin',
          '--email',
          'notanemail',
          '--password',
          'cli-admin-password-1',
        ],
        { env: { ...process.env, DATABASE_URL: t.db.url, NODE_ENV: 'test', LOG_LEVEL: 'silent' } },
      ).then(
        (r) => ({ ...r, code: 0 }),
        (e: { stdout?: string; stderr?: string; code?: number }) => e,
      );
      expect(`${odd.stdout}${odd.stderr}`).toMatch(/email must be an email address/);
      expect(odd.code).toBe(1);
      const made = await t.sql.query(`SELECT count(*)::int AS n FROM users WHERE email = 'notanemail'`);
      expect(made.rows[0].n).toBe(0);
      // `-h` as an option's value is that value, not a request for help (review-22's note): the
      // password rules refuse it, as any short password.
      const dash = await run(
        'node',
        [
          'dist/apps/cli/src/main.js',
          'create-admin',
          '--email',
          'dash.admin@example.org',
          '--password',
          '-h',
        ],
        { env: { ...process.env, DATABASE_URL: t.db.url, NODE_ENV: 'test', LOG_LEVEL: 'silent' } },
      ).then(
        (r) => ({ ...r, code: 0 }),
        (e: { stdout?: string; stderr?: string; code?: number }) => e,
      );
      expect(`${dash.stdout}${dash.stderr}`).toMatch(/password/i);
      expect(`${dash.stdout}${dash.stderr}`).not.toMatch(/IdentityService|Nest could not find/);
      expect(dash.code).toBe(1);
    } finally {
      await t.close();
    }
  }, 120_000); // four CLI processes: 5-9 s alone, past 30 s once under the whole suite (CI, 2026-12-07)
});

describe('cli messages', () => {
  it('help exits 0 without an error line; an unknown command is one line and exit 1 (they printed "error: (outputHelp)" and "error: error: …")', async () => {
    const t = await createTestApp();
    try {
      const env = { ...process.env, DATABASE_URL: t.db.url, NODE_ENV: 'test', LOG_LEVEL: 'silent' };
      const cli = (args: string[]) =>
        run('node', ['dist/apps/cli/src/main.js', ...args], { env }).then(
          (r) => ({ ...r, code: 0 }),
          (e: { stdout: string; stderr: string; code: number }) => e,
        );
      const help = await cli(['--help']);
      expect(help.code).toBe(0);
      expect(`${help.stdout}${help.stderr}`).toContain('verify-audit');
      expect(`${help.stdout}${help.stderr}`).not.toMatch(/error/i);
      const unknown = await cli(['nosuch']);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr.trim()).toBe("error: unknown command 'nosuch'");
    } finally {
      await t.close();
    }
  });
});

describe('audit trail cut at its end', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  it('fails against the latest signed checkpoint, through the API and the CLI (a trail cut at its end verified: an outsider’s probe)', async () => {
    const auditor = await t.as('auditor');
    const admin = await t.as('admin');
    const org = (i: number) =>
      t.http
        .post('/api/organisations')
        .set(admin.auth)
        .send({ name: `Cut ${i}`, kind: 'charity' })
        .expect(201);
    for (let i = 0; i < 3; i++) await org(i);
    const checkpoint = await t.app.get(RegisterLogService).keepDaily();
    for (let i = 3; i < 5; i++) await org(i);
    const whole = await t.http.get('/api/audit/verify').set(auditor.auth).expect(200);
    expect(whole.body).toMatchObject({ ok: true });
    // The owner deletes the entries from the checkpoint's head on: what is left still links.
    await t.sql.query(`SET session_replication_role = replica`);
    await t.sql.query(`DELETE FROM audit_log WHERE seq >= $1`, [checkpoint.auditLength - 1]);
    await t.sql.query(`SET session_replication_role = origin`);
    const cut = await t.http.get('/api/audit/verify').set(auditor.auth).expect(200);
    expect(cut.body).toMatchObject({
      ok: false,
      checked: checkpoint.auditLength - 2,
      firstBroken: { id: String(checkpoint.auditLength), reason: 'truncated' },
    });
    const cli = await verifyAuditCli(t);
    expect(cli.code).toBe(1);
    expect(cli.result).toMatchObject({
      ok: false,
      firstBroken: { reason: 'truncated' },
    });
  });
});

describe('audit trail cut at its end, its checkpoint rewritten to match', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  it('reports the rewritten checkpoint (its signature no longer verifies), not ok (a review of the day’s anchor)', async () => {
    const auditor = await t.as('auditor');
    const admin = await t.as('admin');
    for (let i = 0; i < 4; i++)
      await t.http
        .post('/api/organisations')
        .set(admin.auth)
        .send({ name: `Forged ${i}`, kind: 'charity' })
        .expect(201);
    const checkpoint = await t.app.get(RegisterLogService).keepDaily();
    const whole = await t.http.get('/api/audit/verify').set(auditor.auth).expect(200);
    expect(whole.body).toMatchObject({ ok: true });
    // The owner cuts the trail and rewrites the checkpoint's figures to the new head.
    const cutAt = checkpoint.auditLength - 2;
    const { rows } = await t.sql.query(`SELECT hash FROM audit_log WHERE seq = $1`, [cutAt]);
    await t.sql.query(`SET session_replication_role = replica`);
    await t.sql.query(`DELETE FROM audit_log WHERE seq > $1`, [cutAt]);
    await t.sql.query(
      `UPDATE register_checkpoints SET audit_length = $1, audit_head = $2 WHERE signature = $3`,
      [cutAt, rows[0].hash, checkpoint.signature],
    );
    await t.sql.query(`SET session_replication_role = origin`);
    const res = await t.http.get('/api/audit/verify').set(auditor.auth).expect(200);
    expect(res.body).toMatchObject({ ok: false, firstBroken: { reason: 'checkpoint_forged' } });
    const cli = await verifyAuditCli(t);
    expect(cli.code).toBe(1);
    expect(cli.result).toMatchObject({ ok: false, firstBroken: { reason: 'checkpoint_forged' } });
  });
});
