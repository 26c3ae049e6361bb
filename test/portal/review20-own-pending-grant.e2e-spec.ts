import { createTestApp, TestApp } from '@custodian/testing';
import { PortalSession, portalSignIn } from '../support/portal-session';

/**
 * Review 20, finding: the user page now ticks the roles waiting for approval (cdcb209). On an
 * administrator's OWN page that ticked box is sent back as a role they ask for themselves: the API
 * refuses the whole save as a self-grant (403 SELF_ROLE_GRANT) and writes an
 * `identity.role_grant_refused` / denied / `self_grant` entry in their name — an attempt they never
 * made — for a save that only corrected their name. Before the change the same save withdrew the
 * grant (probe 21); now it cannot be saved at all unless they untick, i.e. withdraw it.
 */
describe('review 20: an administrator with a pending governance role saves their own page', () => {
  let t: TestApp;
  let b: PortalSession;
  let bId = '';
  let aToken = '';

  beforeAll(async () => {
    t = await createTestApp();
    const a = await t.factory.user({ roles: ['admin'] });
    const bUser = await t.factory.user({ roles: ['admin'] });
    bId = bUser.id;
    aToken = await t.login(a.email);
    b = await portalSignIn(t, bUser.email, '/admin/users');
  }, 120_000);
  afterAll(() => t?.close());

  it('a display-name change is saved, the grant still waits, and no self-grant attempt is audited', async () => {
    // Administrator A asks for the auditor role for administrator B (a second admin must approve).
    const asA = { Authorization: `Bearer ${aToken}` };
    const user = (await t.http.get(`/api/users/${bId}`).set(asA).expect(200)).body;
    const asked = await t.http
      .patch(`/api/users/${bId}`)
      .set(asA)
      .send({ roles: [...user.roles, 'auditor'] });
    expect(asked.status).toBe(200);
    expect(asked.body.pendingRoles).toEqual(['auditor']);

    // B opens their own page and sends it back as the browser would, with only the name changed.
    const page = (await t.http.get(`/admin/users/${bId}`).set('cookie', b.cookie).expect(200)).text;
    const ticked = [...page.matchAll(/<input[^>]*name="roles"[^>]*>/g)]
      .map((m) => m[0])
      .filter((i) => /\bchecked\b/.test(i))
      .map((i) => /value="([^"]+)"/.exec(i)![1]);
    const saved = await t.http
      .post(`/admin/users/${bId}`)
      .set('cookie', b.cookie)
      .type('form')
      .send({ _csrf: b.csrf, displayName: 'Bea Admin', roles: ticked, organisationId: '', practiceOds: '' });

    const { rows: denials } = await t.sql.query(
      `SELECT action, outcome, details FROM audit_log WHERE actor_id = $1 AND action = 'identity.role_grant_refused'`,
      [bId],
    );
    const after = (
      await t.http
        .get(`/api/users/${bId}`)
        .set({ Authorization: `Bearer ${aToken}` })
        .expect(200)
    ).body;
    expect({
      status: saved.status,
      name: after.displayName,
      pending: after.pendingRoles,
      denials: denials.length,
    }).toEqual({
      status: 303,
      name: 'Bea Admin',
      pending: ['auditor'],
      denials: 0,
    });
  });
});
