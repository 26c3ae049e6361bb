import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createTestApp, TestApp } from '@custodian/testing';

const run = promisify(execFile);

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

    const cli = await run('node', ['dist/apps/cli/src/main.js', 'verify-audit'], {
      env: { ...process.env, DATABASE_URL: t.db.url, NODE_ENV: 'test', LOG_LEVEL: 'silent' },
    }).catch((e) => e);
    expect(cli.code).toBe(1);
    expect(JSON.parse(cli.stdout.trim().split('\n').pop())).toMatchObject({
      ok: false,
      firstBroken: { id: target },
    });

    await t.sql.query(`DELETE FROM audit_log WHERE id = $1`, [target]);
    await t.sql.query(`SET session_replication_role = origin`);
    res = await t.http.get('/api/audit/verify').set(auditor.auth).expect(200);
    expect(res.body).toMatchObject({ ok: false, firstBroken: { id: rows[4].id, reason: 'broken_link' } });
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
    } finally {
      await t.close();
    }
  });
});
