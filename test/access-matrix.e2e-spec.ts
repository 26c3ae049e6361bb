import { randomUUID } from 'node:crypto';
import { ROLES, Role } from '@custodian/core';
import { createTestApp, TestApp } from '@custodian/testing';
import { ACCESS } from './access-matrix';
import { UPLOAD_TYPES } from './support/body-routes';
import { declaredRoutes } from './routes.e2e-spec';

const PARAMS: Record<string, () => string> = {
  ods: () => 'A81001',
  name: () => 'manifest.json',
  version: () => '2',
};
const concrete = (path: string) => path.replace(/:(\w+)/g, (_m, p: string) => (PARAMS[p] ?? randomUUID)());

describe('authorisation matrix: every route × every role (and anonymous)', () => {
  let t: TestApp;
  const tokens = new Map<Role, string>();
  beforeAll(async () => {
    t = await createTestApp();
    for (const role of ROLES) tokens.set(role, (await t.as(role)).token);
  });
  afterAll(() => t?.close());

  it('lists every declared route in the hand-written access table, and nothing else', () => {
    const declared = declaredRoutes(t)
      .map((r) => `${r.method} ${r.path}`)
      .sort();
    expect(declared).toEqual(Object.keys(ACCESS).sort());
  });

  it('answers each caller as the table says', async () => {
    const wrong: string[] = [];
    for (const route of declaredRoutes(t)) {
      const key = `${route.method} ${route.path}`;
      const allowed = ACCESS[key];
      if (allowed === 'public' || key === 'POST /api/auth/logout') continue;
      const send = (token?: string) => {
        const req = t.http[route.method.toLowerCase() as 'get'](concrete(route.path));
        if (token) req.set('Authorization', `Bearer ${token}`);
        // An upload gets its own content type (any other is refused with 415 before the guards).
        if (UPLOAD_TYPES[key]) return req.set('content-type', UPLOAD_TYPES[key]).send('');
        return ['POST', 'PUT', 'PATCH'].includes(route.method) ? req.send({}) : req;
      };
      const anon = await send();
      if (anon.status !== 401) wrong.push(`${key} anonymous → ${anon.status}`);
      for (const role of ROLES) {
        const res = await send(tokens.get(role));
        const ok = allowed.includes(role) ? ![401, 403].includes(res.status) : res.status === 403;
        if (!ok) wrong.push(`${key} ${role} → ${res.status}`);
        if (res.status >= 500) wrong.push(`${key} ${role} → ${res.status} ${JSON.stringify(res.body)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('a user with no role (governance roles still pending) signs in, sees their profile, and is denied every other route', async () => {
    const user = await t.factory.user({ roles: [] });
    const token = await t.login(user.email);
    const me = await t.http.get('/api/auth/me').set('Authorization', `Bearer ${token}`).expect(200);
    expect(me.body.roles).toEqual([]);
    const wrong: string[] = [];
    for (const route of declaredRoutes(t)) {
      const key = `${route.method} ${route.path}`;
      if (ACCESS[key] === 'public' || key === 'POST /api/auth/logout' || key === 'GET /api/auth/me') continue;
      const req = t.http[route.method.toLowerCase() as 'get'](concrete(route.path)).set(
        'Authorization',
        `Bearer ${token}`,
      );
      const res = await (UPLOAD_TYPES[key]
        ? req.set('content-type', UPLOAD_TYPES[key]).send('')
        : ['POST', 'PUT', 'PATCH'].includes(route.method)
          ? req.send({})
          : req);
      if (res.status !== 403) wrong.push(`${key} → ${res.status}`);
    }
    expect(wrong).toEqual([]);
  });

  it('audits denials', async () => {
    const { rows } = await t.sql.query(
      `SELECT count(*)::int AS n FROM audit_log WHERE action = 'authz.denied'`,
    );
    expect(rows[0].n).toBeGreaterThan(0);
  });
});
