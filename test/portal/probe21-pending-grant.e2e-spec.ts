import { createTestApp, TestApp } from '@custodian/testing';
import { PortalSession, portalSignIn } from '../support/portal-session';

/**
 * probe-21, finding 2: an administrator who opens a user's page and saves any change (a corrected
 * name, say) silently refuses that user's pending governance role. The form shows the pending role as
 * an unticked box ("Waiting for a second administrator’s approval"), the browser sends the ticked
 * roles only, and PATCH /api/users/:id takes `roles` as the wanted set: a pending grant not in it is
 * withdrawn, on the audit trail as refused by the editing administrator. Nobody asked for that.
 */
describe('probe-21: saving a user’s page withdraws their pending governance role', () => {
  let t: TestApp;
  let admin: PortalSession;
  let adminToken = '';

  beforeAll(async () => {
    t = await createTestApp();
    const a = await t.factory.user({ roles: ['admin'] });
    admin = await portalSignIn(t, a.email, '/admin/users');
    adminToken = await t.login(a.email);
  }, 120_000);
  afterAll(() => t?.close());

  const post = (path: string, form: Record<string, unknown>) =>
    t.http
      .post(path)
      .set('cookie', admin.cookie)
      .type('form')
      .send({ _csrf: admin.csrf, ...form });

  it('changing only the display name keeps the pending auditor grant', async () => {
    const org = (await t.factory.organisation({ name: 'University of York', kind: 'academic' })).id;
    await post('/admin/users/new', {
      email: 'ann@example.org',
      displayName: 'Ann',
      password: 'a-long-password-123',
      roles: ['researcher', 'auditor'],
      organisationId: org,
    }).expect(303);
    const api = { Authorization: `Bearer ${adminToken}` };
    const users = (await t.http.get('/api/users').set(api).expect(200)).body as {
      id: string;
      email: string;
      pendingRoles: string[];
    }[];
    const ann = users.find((u) => u.email === 'ann@example.org')!;
    expect(ann.pendingRoles).toEqual(['auditor']);

    // The edit page as the browser gets it: the form's values, as a browser would send them back.
    const page = (await t.http.get(`/admin/users/${ann.id}`).set('cookie', admin.cookie).expect(200)).text;
    const ticked = [...page.matchAll(/<input[^>]*name="roles"[^>]*>/g)]
      .map((m) => m[0])
      .filter((i) => /\bchecked\b/.test(i))
      .map((i) => /value="([^"]+)"/.exec(i)![1]);
    const organisationId = /<option value="([^"]+)" selected/.exec(page)?.[1] ?? '';
    const saved = await post(`/admin/users/${ann.id}`, {
      displayName: 'Ann Smith',
      roles: ticked,
      organisationId,
      practiceOds: '',
    });
    expect(saved.status).toBe(303);

    const after = (await t.http.get(`/api/users/${ann.id}`).set(api).expect(200)).body;
    expect(after.displayName).toBe('Ann Smith');
    // The auditor role still waits for a second administrator: the edit was about the name.
    expect(after.pendingRoles).toEqual(['auditor']);
    const { rows } = await t.sql.query(
      `SELECT outcome FROM role_grants WHERE user_id = $1 AND role = 'auditor'`,
      [ann.id],
    );
    expect(rows.map((r) => r.outcome)).toEqual(['pending']);
  });
});
