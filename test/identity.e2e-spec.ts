import { randomBytes } from 'node:crypto';
import { createTestApp, TEST_PASSWORD, TestApp } from '@custodian/testing';

describe('organisations and users (admin)', () => {
  let t: TestApp;
  let admin: Awaited<ReturnType<TestApp['as']>>;
  beforeAll(async () => {
    t = await createTestApp();
    admin = await t.as('admin');
  });
  afterAll(() => t?.close());

  it('creates an organisation of each kind and rejects unknown kinds and properties', async () => {
    for (const kind of ['academic', 'nhs', 'commercial', 'charity', 'public_body']) {
      const res = await t.http
        .post('/api/organisations')
        .set(admin.auth)
        .send({ name: `Org ${kind}`, kind })
        .expect(201);
      expect(res.body).toMatchObject({ name: `Org ${kind}`, kind });
    }
    const bad = await t.http
      .post('/api/organisations')
      .set(admin.auth)
      .send({ name: 'X Ltd', kind: 'pirate' })
      .expect(400);
    expect(bad.body).toMatchObject({ statusCode: 400, error: 'Bad Request', code: 'VALIDATION_FAILED' });
    await t.http
      .post('/api/organisations')
      .set(admin.auth)
      .send({ name: 'Y Ltd', kind: 'charity', id: 'x' })
      .expect(400);
    const dup = await t.http
      .post('/api/organisations')
      .set(admin.auth)
      .send({ name: 'Org nhs', kind: 'nhs' })
      .expect(409);
    expect(dup.body.code).toBe('ORGANISATION_EXISTS');
    // The same name in another case, or with spaces around it, is the same organisation (two read as
    // one on the public register: an outsider's probe).
    for (const name of ['ORG NHS', ' org nhs '])
      expect(
        (await t.http.post('/api/organisations').set(admin.auth).send({ name, kind: 'nhs' })).body,
      ).toMatchObject({
        statusCode: 409,
        code: 'ORGANISATION_EXISTS',
      });
  });

  it('creates users with several roles, bound to an organisation or a practice', async () => {
    const org = await t.factory.organisation();
    const res = await t.http
      .post('/api/users')
      .set(admin.auth)
      .send({
        email: 'Two.Roles@Example.org',
        password: TEST_PASSWORD,
        displayName: 'Two Roles',
        roles: ['researcher', 'panel_member'],
        organisationId: org.id,
      })
      .expect(201);
    // panel_member is a governance role: it waits for a second administrator (role-grants.e2e-spec.ts).
    expect(res.body).toMatchObject({
      email: 'two.roles@example.org',
      roles: ['researcher'],
      pendingRoles: ['panel_member'],
      organisationId: org.id,
      disabled: false,
    });
    expect(res.body).not.toHaveProperty('passwordHash');
    // A practice account is bound to a practice the centre knows (a probe bound one to a code no
    // practice has; such an account could register objections).
    const gp = {
      email: 'gp@example.org',
      password: TEST_PASSWORD,
      displayName: 'GP',
      roles: ['practice'],
      practiceOds: 'B82005',
    };
    const unknown = await t.http.post('/api/users').set(admin.auth).send(gp).expect(400);
    expect(unknown.body.code).toBe('UNKNOWN_PRACTICE');
    expect((await t.sql.query(`SELECT 1 FROM users WHERE email = 'gp@example.org'`)).rows).toHaveLength(0);
    await t.sql.query(`INSERT INTO practices (ods_code, name, rollout) VALUES ('B82005', 'Surgery', 'none')`);
    const practice = await t.http.post('/api/users').set(admin.auth).send(gp).expect(201);
    expect(practice.body.practiceOds).toBe('B82005');
    // … and moved only to another practice the centre knows.
    const moved = await t.http
      .patch(`/api/users/${practice.body.id}`)
      .set(admin.auth)
      .send({ practiceOds: 'Z99999' })
      .expect(400);
    expect(moved.body.code).toBe('UNKNOWN_PRACTICE');
    await t.login('two.roles@example.org');
  });

  it.each([
    [{ roles: ['practice'] }, 'PRACTICE_BINDING_REQUIRED'],
    [{ roles: ['researcher'] }, 'ORGANISATION_REQUIRED'],
    [{ roles: ['admin'], practiceOds: 'A81001' }, 'PRACTICE_BINDING_NOT_ALLOWED'],
    [
      { roles: ['researcher'], organisationId: '00000000-0000-4000-8000-000000000000' },
      'UNKNOWN_ORGANISATION',
    ],
    [{ roles: ['practice'], practiceOds: 'A8100' }, 'VALIDATION_FAILED'],
    [{ roles: ['superuser'] }, 'VALIDATION_FAILED'],
    [{ roles: [] }, 'VALIDATION_FAILED'],
    [{ roles: ['admin'], password: 'short-pw' }, 'VALIDATION_FAILED'],
  ])('refuses %j with %s', async (over, code) => {
    const res = await t.http
      .post('/api/users')
      .set(admin.auth)
      .send({ email: `u${Math.random()}@example.org`, password: TEST_PASSWORD, displayName: 'U', ...over })
      .expect(400);
    expect(res.body.code).toBe(code);
  });

  it('refuses a common password, one built on the email, and an email that is not ASCII (400 VALIDATION_FAILED, naming the field)', async () => {
    const create = (email: string, password: string) =>
      t.http
        .post('/api/users')
        .set(admin.auth)
        .send({ email, password, displayName: 'W', roles: ['auditor'] });
    for (const [email, password, field] of [
      ['weak1@leeds.example', 'password1234', 'password'],
      ['weak2@leeds.example', 'qwertyuiop123', 'password'],
      ['weak3@leeds.example', 'weak3@leeds.example', 'password'],
      ['weak4@leeds.example', 'WEAK4@LEEDS.EXAMPLE', 'password'],
      ['marianne.dashwood@leeds.example', 'Marianne.Dashwood-2026!', 'password'],
      ['r\u0435searcher@leeds.example', TEST_PASSWORD, 'email'],
      ['researcher@l\u0435eds.example', TEST_PASSWORD, 'email'],
    ]) {
      const res = await create(email, password).expect(400);
      expect(res.body.code, `${email} ${password}`).toBe('VALIDATION_FAILED');
      expect(res.body.message, `${email} ${password}`).toMatch(new RegExp(`^${field} `));
    }
    const { rows } = await t.sql.query(
      `SELECT count(*)::int AS n FROM users WHERE email LIKE '%leeds.example'`,
    );
    expect(rows[0].n).toBe(0);
    // The real one is taken; its lookalike (a Cyrillic "е") is refused, so both cannot exist.
    await create('researcher@leeds.example', TEST_PASSWORD).expect(201);
    await create('r\u0435searcher@leeds.example', TEST_PASSWORD).expect(400);
    // PATCH: the same rules, against the user's own email.
    const { id } = (await t.http.get('/api/users').set(admin.auth).expect(200)).body.find(
      (u: { email: string }) => u.email === 'researcher@leeds.example',
    );
    for (const password of ['password1234', 'researcher-password-1', 'Researcher@Leeds.Example']) {
      const res = await t.http.patch(`/api/users/${id}`).set(admin.auth).send({ password }).expect(400);
      expect(res.body.code, password).toBe('VALIDATION_FAILED');
      expect(res.body.message, password).toMatch(/^password /);
    }
    await t.login('researcher@leeds.example');
    await t.http
      .patch(`/api/users/${id}`)
      .set(admin.auth)
      .send({ password: 'a-long-enough-password' })
      .expect(200);
    await t.login('researcher@leeds.example', 'a-long-enough-password');
  });

  it('accepts a 128-character password and refuses a duplicate email', async () => {
    const long = randomBytes(96).toString('base64');
    await t.http
      .post('/api/users')
      .set(admin.auth)
      .send({ email: 'long@example.org', password: long, displayName: 'L', roles: ['auditor'] })
      .expect(201);
    await t.login('long@example.org', long);
    const dup = await t.http
      .post('/api/users')
      .set(admin.auth)
      .send({ email: 'LONG@example.org', password: TEST_PASSWORD, displayName: 'L', roles: ['auditor'] })
      .expect(409);
    expect(dup.body.code).toBe('EMAIL_TAKEN');
  });

  it('refuses mass assignment of ids and hashes, and changes nothing', async () => {
    const u = await t.factory.user({ roles: ['auditor'] });
    await t.http
      .patch(`/api/users/${u.id}`)
      .set(admin.auth)
      .send({ id: 'x', passwordHash: 'x', email: 'new@example.org' })
      .expect(400);
    const res = await t.http.get(`/api/users/${u.id}`).set(admin.auth).expect(200);
    expect(res.body.email).toBe(u.email);
  });

  it('an admin cannot lock themselves out', async () => {
    const res = await t.http
      .patch(`/api/users/${admin.user.id}`)
      .set(admin.auth)
      .send({ disabled: true })
      .expect(409);
    expect(res.body.code).toBe('CANNOT_DEMOTE_SELF');
  });

  it('answers 404 for unknown ids and 400 for malformed ones', async () => {
    await t.http.get('/api/users/00000000-0000-4000-8000-000000000000').set(admin.auth).expect(404);
    await t.http.get('/api/users/not-a-uuid').set(admin.auth).expect(400);
  });

  it('audits every change, without passwords', async () => {
    const { rows } = await t.sql.query(
      `SELECT action, details::text AS d FROM audit_log WHERE action IN ('user.create','user.update','organisation.create')`,
    );
    expect(rows.length).toBeGreaterThan(5);
    // The names of the changed fields ("changed": ["password"]) may say a password was set; no
    // password or hash appears anywhere.
    for (const r of rows)
      expect(r.d.replace(/"changed": \[[^\]]*\]/, '')).not.toMatch(/password|argon2|\$argon/i);
    expect(rows.some((r) => r.d.includes('"changed": ["password"]'))).toBe(true);
  });
});
