import { createHmac } from 'node:crypto';
import { createTestApp, TEST_PASSWORD, TestApp } from '@custodian/testing';

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
const SECRET = 'test-jwt-secret-that-is-long-enough-0123456789';
function forge(header: object, payload: object, secret = SECRET, alg: 'sha256' | 'sha512' = 'sha256') {
  const data = `${b64(header)}.${b64(payload)}`;
  return `${data}.${createHmac(alg, secret).update(data).digest('base64url')}`;
}

describe('authentication', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  async function loginPair(email: string) {
    const res = await t.http.post('/api/auth/login').send({ email, password: TEST_PASSWORD }).expect(200);
    return res.body as { accessToken: string; refreshToken: string; expiresIn: number };
  }

  it('logs in, returns the profile, and audits the login', async () => {
    const user = await t.factory.user({ roles: ['researcher', 'panel_member'] });
    const pair = await loginPair(user.email.toUpperCase());
    expect(pair.expiresIn).toBe(900);
    const me = await t.http
      .get('/api/auth/me')
      .set('Authorization', `Bearer ${pair.accessToken}`)
      .expect(200);
    expect(me.body).toEqual({
      id: user.id,
      email: user.email,
      roles: ['researcher', 'panel_member'],
      organisationId: user.organisationId,
      practiceOds: null,
    });
    const { rows } = await t.sql.query(
      `SELECT outcome FROM audit_log WHERE action = 'auth.login' AND actor_id = $1`,
      [user.id],
    );
    expect(rows).toEqual([{ outcome: 'success' }]);
  });

  it('refuses a wrong password with 401 and audits it without the password', async () => {
    const user = await t.factory.user();
    const res = await t.http
      .post('/api/auth/login')
      .send({ email: user.email, password: 'wrong-password-123' })
      .expect(401);
    expect(res.body).toMatchObject({ statusCode: 401, code: 'INVALID_CREDENTIALS' });
    const { rows } = await t.sql.query(
      `SELECT outcome, details FROM audit_log WHERE action = 'auth.login' AND details->>'email' = $1`,
      [user.email],
    );
    expect(rows).toEqual([{ outcome: 'failure', details: { email: user.email, reason: 'bad_credentials' } }]);
    expect(JSON.stringify(rows)).not.toContain('wrong-password');
  });

  it('answers 400 for a malformed login body', async () => {
    const res = await t.http.post('/api/auth/login').send({ email: 'not-an-email' }).expect(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
  });

  it('slows an address down after five failures on an account (429, Retry-After), even with the right password', async () => {
    const user = await t.factory.user();
    for (let i = 0; i < 5; i++)
      await t.http
        .post('/api/auth/login')
        .send({ email: user.email, password: `wrong-password-${i}` })
        .expect(401);
    const res = await t.http
      .post('/api/auth/login')
      .send({ email: user.email, password: TEST_PASSWORD })
      .expect(429);
    expect(res.body.code).toBe('LOGIN_THROTTLED');
    // The first delay is a second (test/login-throttle.e2e-spec.ts: it grows, and other addresses are not held up).
    expect(res.headers['retry-after']).toBe('1');
  });

  it('throttles an address after twenty failures across accounts', async () => {
    const ip = '203.0.113.7';
    // The address is the socket's; simulate another client by writing its failures directly.
    await t.sql.query(
      `INSERT INTO login_attempts (email, ip, succeeded) SELECT 'x' || g || '@example.org', '127.0.0.1', false FROM generate_series(1, 20) g`,
    );
    const user = await t.factory.user();
    await t.http.post('/api/auth/login').send({ email: user.email, password: TEST_PASSWORD }).expect(429);
    await t.sql.query(`DELETE FROM login_attempts WHERE ip IN ('127.0.0.1', $1)`, [ip]);
    await t.http.post('/api/auth/login').send({ email: user.email, password: TEST_PASSWORD }).expect(200);
  });

  it('rotates refresh tokens; reusing an old one revokes the whole family', async () => {
    const user = await t.factory.user();
    const first = await loginPair(user.email);
    const second = (
      await t.http.post('/api/auth/refresh').send({ refreshToken: first.refreshToken }).expect(200)
    ).body;
    expect(second.refreshToken).not.toBe(first.refreshToken);
    await t.http.get('/api/auth/me').set('Authorization', `Bearer ${second.accessToken}`).expect(200);
    const reuse = await t.http
      .post('/api/auth/refresh')
      .send({ refreshToken: first.refreshToken })
      .expect(401);
    expect(reuse.body.code).toBe('REFRESH_TOKEN_REUSED');
    // The legitimate holder's newer tokens die with the family.
    await t.http.post('/api/auth/refresh').send({ refreshToken: second.refreshToken }).expect(401);
    await t.http.get('/api/auth/me').set('Authorization', `Bearer ${second.accessToken}`).expect(401);
    const { rows } = await t.sql.query(
      `SELECT count(*)::int AS n FROM audit_log WHERE action = 'auth.refresh_reuse' AND actor_id = $1`,
      [user.id],
    );
    expect(rows[0].n).toBe(1);
  });

  it('refuses forged and malformed refresh tokens', async () => {
    const user = await t.factory.user();
    const pair = await loginPair(user.email);
    const [id] = pair.refreshToken.split('.');
    await t.http
      .post('/api/auth/refresh')
      .send({ refreshToken: `${id}.forged` })
      .expect(401);
    await t.http.post('/api/auth/refresh').send({ refreshToken: 'garbage' }).expect(401);
    await t.http.post('/api/auth/refresh').send({}).expect(400);
    // The forged attempt did not consume the real token.
    await t.http.post('/api/auth/refresh').send({ refreshToken: pair.refreshToken }).expect(200);
  });

  it('logout ends the session at once (access and refresh tokens)', async () => {
    const user = await t.factory.user();
    const pair = await loginPair(user.email);
    await t.http.post('/api/auth/logout').set('Authorization', `Bearer ${pair.accessToken}`).expect(204);
    await t.http.get('/api/auth/me').set('Authorization', `Bearer ${pair.accessToken}`).expect(401);
    await t.http.post('/api/auth/refresh').send({ refreshToken: pair.refreshToken }).expect(401);
  });

  describe('access tokens', () => {
    let userId: string;
    let sid: string;
    let good: string;
    beforeAll(async () => {
      const user = await t.factory.user();
      userId = user.id;
      good = (await loginPair(user.email)).accessToken;
      sid = JSON.parse(Buffer.from(good.split('.')[1], 'base64url').toString()).sid;
    });
    const now = () => Math.floor(Date.now() / 1000);
    const claims = () => ({
      sub: userId,
      sid,
      iss: 'custodian',
      aud: 'custodian-api',
      iat: now(),
      exp: now() + 600,
    });

    it('accepts a correctly signed token', async () => {
      await t.http
        .get('/api/auth/me')
        .set('Authorization', `Bearer ${forge({ alg: 'HS256', typ: 'JWT' }, claims())}`)
        .expect(200);
    });

    it.each([
      ['alg none', () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`],
      ['another algorithm (HS512)', () => forge({ alg: 'HS512', typ: 'JWT' }, claims(), SECRET, 'sha512')],
      ['a wrong audience', () => forge({ alg: 'HS256' }, { ...claims(), aud: 'someone-else' })],
      ['a wrong issuer', () => forge({ alg: 'HS256' }, { ...claims(), iss: 'evil' })],
      [
        'an expired token',
        () => forge({ alg: 'HS256' }, { ...claims(), iat: now() - 2000, exp: now() - 1000 }),
      ],
      ['a wrong key', () => forge({ alg: 'HS256' }, claims(), 'another-secret-that-is-long-enough-0000000')],
      [
        'a tampered payload',
        () => {
          const [h, , s] = good.split('.');
          return `${h}.${b64({ ...claims(), sub: '00000000-0000-4000-8000-000000000000' })}.${s}`;
        },
      ],
      ['garbage', () => 'not.a.jwt'],
      [
        'a correctly signed token without exp',
        () => {
          const { exp: _exp, ...rest } = claims();
          return forge({ alg: 'HS256', typ: 'JWT' }, rest);
        },
      ],
      [
        'a correctly signed token whose exp is not a number',
        () => forge({ alg: 'HS256', typ: 'JWT' }, { ...claims(), exp: String(now() + 600) }),
      ],
      // The server bounds a token's lifetime itself (an outside probe: these were 200).
      [
        'a correctly signed token whose exp is 1e308',
        () => forge({ alg: 'HS256' }, { ...claims(), exp: 1e308 }),
      ],
      [
        'a correctly signed token issued a year in the future',
        () =>
          forge(
            { alg: 'HS256' },
            { ...claims(), iat: now() + 365 * 86_400, exp: now() + 365 * 86_400 + 600 },
          ),
      ],
      [
        'a correctly signed token without iat',
        () => {
          const { iat: _iat, ...rest } = claims();
          return forge({ alg: 'HS256', typ: 'JWT' }, rest);
        },
      ],
      [
        'a correctly signed token living longer than the access-token TTL (900 s)',
        () => forge({ alg: 'HS256' }, { ...claims(), exp: now() + 901 }),
      ],
      [
        'a correctly signed token whose iat is not a number',
        () => forge({ alg: 'HS256' }, { ...claims(), iat: String(now()) }),
      ],
    ])('refuses %s with 401 and audits it', async (_name, make) => {
      // Identical refusals within a minute are one chained entry plus a counter (recordDenial):
      // what must grow by one is the number of refusals on the trail, chained or still counted.
      const rejected = async () =>
        (
          await t.sql.query(
            `SELECT (SELECT coalesce(sum(coalesce((details->>'count')::int, 1)), 0) FROM audit_log WHERE action = 'auth.token_rejected')
                  + (SELECT coalesce(sum(pending), 0) FROM audit_denials WHERE action = 'auth.token_rejected') AS n`,
          )
        ).rows[0].n;
      const before = Number(await rejected());
      const res = await t.http.get('/api/auth/me').set('Authorization', `Bearer ${make()}`).expect(401);
      expect(res.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
      expect(typeof res.body.code).toBe('string');
      expect(Number(await rejected())).toBe(before + 1);
    });

    it('accepts a token issued within the clock skew (60 s) and one living exactly the TTL', async () => {
      for (const c of [
        { ...claims(), iat: now() + 30, exp: now() + 630 },
        { ...claims(), exp: now() + 900 },
      ])
        await t.http
          .get('/api/auth/me')
          .set('Authorization', `Bearer ${forge({ alg: 'HS256' }, c)}`)
          .expect(200);
    });

    it('takes the Authorization header only as exactly "Bearer <token>" (scheme in any case)', async () => {
      for (const header of [`Bearer ${good}`, `bearer ${good}`, `BEARER   ${good}`])
        await t.http.get('/api/auth/me').set('Authorization', header).expect(200);
      for (const header of [
        `Bearer ${good} extra`,
        `Bearer ${good} ${good}`,
        `Bearer ${good},Bearer ${good}`,
        `Bearer\t${good}`,
        `Token ${good}`,
        `junk Bearer ${good}`,
        `Bearer`,
        good,
      ]) {
        const res = await t.http.get('/api/auth/me').set('Authorization', header).expect(401);
        expect(res.body.code, header).toBe('INVALID_TOKEN');
      }
    });

    it('refuses a token that was accepted before once it has expired', async () => {
      const shortLived = forge({ alg: 'HS256', typ: 'JWT' }, { ...claims(), exp: now() + 2 });
      await t.http.get('/api/auth/me').set('Authorization', `Bearer ${shortLived}`).expect(200);
      await t.http.get('/api/auth/me').set('Authorization', `Bearer ${shortLived}`).expect(200);
      await new Promise((r) => setTimeout(r, 2_100));
      const res = await t.http.get('/api/auth/me').set('Authorization', `Bearer ${shortLived}`).expect(401);
      expect(res.body.code).toBe('INVALID_TOKEN');
    });

    it('refuses a request without a token with 401', async () => {
      const res = await t.http.get('/api/auth/me').expect(401);
      expect(res.body.code).toBe('UNAUTHENTICATED');
    });
  });

  it('disabling a user and changing their roles end their sessions at once', async () => {
    const admin = await t.as('admin');
    const victim = await t.factory.user({ roles: ['researcher'] });
    const a = await loginPair(victim.email);
    await t.http
      .patch(`/api/users/${victim.id}`)
      .set(admin.auth)
      .send({ roles: ['researcher', 'data_manager'] })
      .expect(200);
    await t.http.get('/api/auth/me').set('Authorization', `Bearer ${a.accessToken}`).expect(401);
    await t.http.post('/api/auth/refresh').send({ refreshToken: a.refreshToken }).expect(401);
    const b = await loginPair(victim.email);
    await t.http.patch(`/api/users/${victim.id}`).set(admin.auth).send({ disabled: true }).expect(200);
    await t.http.get('/api/auth/me').set('Authorization', `Bearer ${b.accessToken}`).expect(401);
    await t.http.post('/api/auth/login').send({ email: victim.email, password: TEST_PASSWORD }).expect(401);
  });
});
