import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { chainHash } from '@custodian/audit';
import { APP_CONFIG, AppConfig } from '@custodian/core';
import {
  chainStep,
  lineHash,
  RegisterLogService,
  signCheckpoint,
  signingKeyFromSeed,
  verifyRegister,
  type RegisterLogLine,
} from '@custodian/register';
import { createTestApp, TestApp } from '@custodian/testing';
import { addEvent, addPatient, download, runRelease, seedPractice, spec } from './release-helpers';

const run = promisify(execFile);

/**
 * The verifiable register (#24): every release line carries its files' SHA-256 and sizes, chained
 * in the register log with its audit entry's hash; signed checkpoints; `verify-register` finds a
 * forged line, an edited audit entry and a checkpoint that does not extend its predecessor.
 */
describe('verifiable register (#24)', () => {
  let t: TestApp;
  const get = async (path: string) => (await t.http.get(path).expect(200)).body;
  const releases: string[] = [];
  const bids: string[] = [];
  const recipients: { auth: Record<string, string> }[] = [];

  beforeAll(async () => {
    t = await createTestApp();
    const o = await t.as('release_officer');
    const officer = { id: o.user.id, roles: o.user.roles };
    await seedPractice(t.sql);
    for (let i = 1; i <= 20; i++)
      await addEvent(t.sql, await addPatient(t.sql, { nhs: String(9_300_000_000 + i) }));
    // Each bid through the real workflow (its decision line is logged), then a release of it.
    for (let i = 0; i < 2; i++) {
      const bid = await t.factory.bid('active');
      bids.push(bid.id);
      recipients.push(bid.researcher);
      const done = await runRelease(
        t,
        spec({ bidId: bid.id, recipients: [bid.researcher.user.id], requestedBy: officer.id }),
        officer,
      );
      expect(done.failure_reason).toBeNull();
      releases.push(done.id);
    }
  });
  afterAll(() => t?.close());

  it('puts each release on the register with its files, and the whole register verifies', async () => {
    const lines = (await get('/api/register')).filter((l: { type: string }) => l.type === 'release');
    expect(lines).toHaveLength(2);
    const { rows: files } = await t.sql.query(
      `SELECT name, bytes::int AS bytes, sha256 FROM release_files WHERE release_id = $1 ORDER BY name`,
      [releases[0]],
    );
    const line = lines.find((l: { releaseId: string }) => l.releaseId === releases[0]);
    // Each file by its salted digest, which the recipient can check from the manifest's salt; never
    // the file's plain SHA-256, which lets anyone test a guess of a small table's content (an
    // outsider recovered an aggregate table from the register that way).
    const manifest = JSON.parse(
      (await download(t, recipients[0].auth, releases[0], 'manifest.json')).body.toString(),
    ) as { register: { salt: string } };
    const salt = Buffer.from(manifest.register.salt, 'hex');
    expect(salt).toHaveLength(32);
    expect([...line.files].sort((a, b) => (a.name < b.name ? -1 : 1))).toEqual(
      files.map((f: { name: string; bytes: number; sha256: string }) => ({
        ...f,
        sha256: createHash('sha256').update(salt).update(f.sha256).digest('hex'),
      })),
    );
    for (const f of files) expect(JSON.stringify(await get('/api/register'))).not.toContain(f.sha256);
    expect(line.registerSeq).toBe(2);
    expect(line.riskReport).toMatchObject({ tier: 'pseudonymised' });

    const key = await get('/api/register/public-key');
    expect(key).toMatchObject({ algorithm: 'Ed25519', keyId: expect.stringMatching(/^[0-9a-f]{16}$/) });
    expect(key.publicKey).toContain('BEGIN PUBLIC KEY');
    const kept = await get('/api/register/checkpoints');
    // One kept with each line: two decisions, two releases.
    expect(kept.items.filter((c: { reason: string }) => c.reason === 'release')).toHaveLength(4);

    const result = await verifyRegister(get);
    expect(result.problems).toEqual([]);
    expect(result.checked).toMatchObject({ lines: 4, registerLines: 4 });
  });

  it('lists ten and more checkpoints in the order they were kept, and the register still verifies', async () => {
    // The list was ordered by its id as text ("1", "10", "11", "2", …): from the tenth checkpoint on,
    // verify-register reported one "shorter than the checkpoint before it" on every real install.
    const log = t.app.get(RegisterLogService);
    for (let i = 0; i < 12; i++) await log.keepDaily();
    const kept = (await get('/api/register/checkpoints?limit=100')).items as { id: string }[];
    expect(kept.length).toBeGreaterThanOrEqual(12);
    const ids = kept.map((c) => Number(c.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect((await verifyRegister(get)).problems).toEqual([]);
  });

  it('logs each approval as a decision line, bound to its audit entry', async () => {
    const { rows } = await t.sql.query(
      `SELECT l.kind, l.release_id, l.line, a.action FROM register_log l JOIN audit_log a ON a.id = l.audit_id
        WHERE l.line->>'bidId' = $1 ORDER BY l.seq`,
      [bids[0]],
    );
    expect(rows.map((r) => [r.kind, r.action])).toEqual([
      ['decision', 'bid.decide_approve'],
      ['release', 'release.completed'],
    ]);
    expect(rows[0].release_id).toBeNull();
    const onRegister = (await get('/api/register')).find(
      (l: { type: string; bidId: string }) => l.type === 'decision' && l.bidId === bids[0],
    );
    expect(rows[0].line).toMatchObject({
      kind: 'decision',
      seq: 1,
      bidId: bids[0],
      organisation: onRegister.organisation,
      tier: 'pseudonymised',
      legalBasis: 's251',
      datasets: ['gp'],
      agreementReference: onRegister.agreementReference,
    });
  });

  it('detects an edited decision line (its tier, its organisation)', async () => {
    await t.sql.query(`UPDATE bids SET granted_tier = 'identifiable' WHERE id = $1`, [bids[0]]);
    const tier = await verifyRegister(get);
    await t.sql.query(`UPDATE bids SET granted_tier = 'pseudonymised' WHERE id = $1`, [bids[0]]);
    expect(tier.ok).toBe(false);
    expect(tier.problems.join('\n')).toMatch(
      new RegExp(`register line of the decision on bid ${bids[0]}: differs from register log line 1`),
    );

    const { rows } = await t.sql.query(`SELECT organisation_id FROM bids WHERE id = $1`, [bids[0]]);
    const other = await t.factory.organisation({ name: 'Somebody Else Ltd' });
    await t.sql.query(`UPDATE bids SET organisation_id = $2 WHERE id = $1`, [bids[0], other.id]);
    const org = await verifyRegister(get);
    await t.sql.query(`UPDATE bids SET organisation_id = $2 WHERE id = $1`, [
      bids[0],
      rows[0].organisation_id,
    ]);
    expect(org.ok).toBe(false);
    expect(org.problems.join('\n')).toMatch(/decision on bid .*: differs from register log line 1/);
    expect((await verifyRegister(get)).problems).toEqual([]);
  });

  it('detects a decision line missing from the register log', async () => {
    const { rows } = await t.sql.query(
      `INSERT INTO bids (organisation_id, created_by, state, title, purpose, public_benefit, legal_basis, requested_tier,
                         granted_tier, datasets, cohort, duration_months, recipients, submitted_at, decided_at)
       SELECT organisation_id, created_by, 'approved', 'Forged', 'Forged', 'Forged', legal_basis, requested_tier,
              granted_tier, datasets, cohort, duration_months, recipients, now(), now()
         FROM bids WHERE id = $1
       RETURNING id`,
      [bids[0]],
    );
    const forged = await verifyRegister(get);
    await t.sql.query(`DELETE FROM bids WHERE id = $1`, [rows[0].id]);
    expect(forged.ok).toBe(false);
    expect(forged.problems).toEqual([
      `register line of the decision on bid ${rows[0].id}: not in the register log`,
    ]);
  });

  it('detects a forged register line', async () => {
    const { rows } = await t.sql.query(`SELECT bid_id FROM register_entries LIMIT 1`);
    await t.sql.query(
      `INSERT INTO register_entries (kind, bid_id, release_id, tier, objections_applied, details)
       VALUES ('release', $1, gen_random_uuid(), 'pseudonymised', true, '{}')`,
      [rows[0].bid_id],
    );
    const forged = await verifyRegister(get);
    await t.sql.query(`DELETE FROM register_entries WHERE release_id <> ALL($1::uuid[])`, [releases]);
    expect(forged.ok).toBe(false);
    expect(forged.problems.join('\n')).toMatch(/not in the register log/);
  });

  it('detects a register log line rewritten, even with its hashes recomputed', async () => {
    const { rows } = await t.sql.query(
      `SELECT seq, line, line_hash, prev_hash, hash FROM register_log ORDER BY seq`,
    );
    const line: RegisterLogLine = { ...rows[1].line, files: [...rows[1].line.files] };
    line.files[0] = { ...line.files[0], sha256: 'f'.repeat(64) };
    const lh = lineHash(line);
    await t.sql.query(`UPDATE register_log SET line = $2, line_hash = $3, hash = $4 WHERE seq = $1`, [
      rows[1].seq,
      JSON.stringify(line),
      lh,
      chainStep(rows[1].prev_hash, lh),
    ]);
    const rewritten = await verifyRegister(get);
    await t.sql.query(`UPDATE register_log SET line = $2, line_hash = $3, hash = $4 WHERE seq = $1`, [
      rows[1].seq,
      JSON.stringify(rows[1].line),
      rows[1].line_hash,
      rows[1].hash,
    ]);
    expect(rewritten.ok).toBe(false);
    expect(rewritten.problems.join('\n')).toMatch(/does not extend it/);
    expect((await verifyRegister(get)).problems).toEqual([]);
  });

  it('detects an edited audit entry of a release, its hash recomputed', async () => {
    const { rows } = await t.sql.query(
      `SELECT id::text AS id, at, actor_id AS "actorId", actor_roles AS "actorRoles", action, outcome, bid_id AS "bidId",
              subject_type AS "subjectType", subject_id AS "subjectId", request_id AS "requestId", ip, details,
              prev_hash AS "prevHash", hash
         FROM audit_log WHERE action = 'release.completed' AND subject_id = $1`,
      [releases[0]],
    );
    const entry = rows[0];
    const details = { ...entry.details, tier: 'anonymised' };
    await t.sql.query(`SET session_replication_role = replica`);
    await t.sql.query(`UPDATE audit_log SET details = $2, hash = $3 WHERE id = $1`, [
      entry.id,
      JSON.stringify(details),
      chainHash(entry.prevHash, { ...entry, details }),
    ]);
    const edited = await verifyRegister(get);
    await t.sql.query(`UPDATE audit_log SET details = $2, hash = $3 WHERE id = $1`, [
      entry.id,
      JSON.stringify(entry.details),
      entry.hash,
    ]);
    await t.sql.query(`SET session_replication_role = origin`);
    expect(edited.ok).toBe(false);
    expect(edited.problems.join('\n')).toMatch(new RegExp(`audit entry ${entry.id} has changed`));
    expect(edited.problems.join('\n')).toMatch(
      new RegExp(`audit entry after ${entry.id} does not link to it`),
    );
  });

  it('detects a checkpoint that does not extend its predecessor', async () => {
    const key = signingKeyFromSeed(t.app.get<AppConfig>(APP_CONFIG).registerSigningKey);
    const now = await get('/api/register/checkpoint');
    // Signed with the centre's own key, over a register history that differs from the one kept.
    const fork = signCheckpoint(
      { ...now, at: new Date().toISOString(), registerHead: 'a'.repeat(64), signature: undefined } as never,
      key,
    );
    await t.sql.query(
      `INSERT INTO register_checkpoints (at, reason, audit_length, audit_head, register_length, register_head, key_id, signature)
       VALUES ($1, 'daily', $2, $3, $4, $5, $6, $7)`,
      [
        fork.at,
        fork.auditLength,
        fork.auditHead,
        fork.registerLength,
        fork.registerHead,
        fork.keyId,
        fork.signature,
      ],
    );
    const forked = await verifyRegister(get);
    expect(forked.ok).toBe(false);
    expect(forked.problems).toEqual([
      expect.stringMatching(/^checkpoint \d+: the register log does not extend it/),
    ]);
    await t.sql.query(`DELETE FROM register_checkpoints WHERE signature = $1`, [fork.signature]);
  });

  it('verify-register (the CLI) checks a running deployment over HTTP', async () => {
    await t.app.listen(0, '127.0.0.1');
    const url = await t.app.getUrl();
    const env = { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'silent', DATABASE_URL: '' };
    const ok = await run('node', ['dist/apps/cli/src/main.js', 'verify-register', '--url', url], {
      env,
    }).catch((e) => {
      throw new Error(e.stdout + e.stderr);
    });
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, checked: { lines: 4 } });
    const { rows } = await t.sql.query(`SELECT bid_id FROM register_entries LIMIT 1`);
    await t.sql.query(
      `INSERT INTO register_entries (kind, bid_id, release_id, tier, objections_applied, details)
       VALUES ('release', $1, gen_random_uuid(), 'pseudonymised', true, '{}')`,
      [rows[0].bid_id],
    );
    const failed = await run('node', ['dist/apps/cli/src/main.js', 'verify-register', '--url', url], {
      env,
    }).catch((e) => e);
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stdout).problems.join('\n')).toMatch(/not in the register log/);
  });
});
