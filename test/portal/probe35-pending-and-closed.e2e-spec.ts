import { createTestApp, TestApp } from '@custodian/testing';
import { portalSignIn } from '../support/portal-session';

/**
 * Probe 35's two notes left to the owners (/work/notes/probe35-FINDINGS.md):
 * - a user whose only role waits for a second administrator signed in to a start page offering the
 *   public register alone, with no word that their role was waiting;
 * - a practice not in the rollout was offered "Send the extract" under "Extracts are not open yet",
 *   and sending it was refused (409).
 * Both failed on the code before the change (no notice; the form and its button on the page).
 */
describe('probe 35 (notes): a role waiting for approval, a practice not yet in the rollout', () => {
  let t: TestApp;
  let admin: Record<string, string>;

  beforeAll(async () => {
    t = await createTestApp();
    admin = (await t.as('admin')).auth;
  }, 120_000);
  afterAll(() => t?.close());

  it('the start page tells a user whose only role waits that it waits', async () => {
    const pat = await t.factory.user({ roles: [] });
    const asked = await t.http
      .patch(`/api/users/${pat.id}`)
      .set(admin)
      .send({ roles: ['panel_member'] })
      .expect(200);
    expect(asked.body.roles).toEqual([]);
    expect(asked.body.pendingRoles).toEqual(['panel_member']);
    const s = await portalSignIn(t, pat.email);
    const home = (await t.http.get('/').set('cookie', s.cookie).expect(200)).text;
    expect(home).toContain('Your panel member role waits for a second administrator');
    // Nobody else is told anything: a user with no role waiting sees no such notice.
    const other = await t.factory.user({ roles: ['researcher'] });
    const o = await portalSignIn(t, other.email);
    expect((await t.http.get('/').set('cookie', o.cookie).expect(200)).text).not.toContain(
      'second administrator',
    );
  });

  it('a practice not in the rollout is not offered a form to send an extract with', async () => {
    await t.http
      .post('/api/practices')
      .set(admin)
      .send({ odsCode: 'Y35001', name: 'Declined Surgery', rollout: 'pilot_declined' })
      .expect(201);
    const user = await t.factory.user({ roles: ['practice'], practiceOds: 'Y35001' });
    const s = await portalSignIn(t, user.email);
    const page = (await t.http.get('/practice/extracts').set('cookie', s.cookie).expect(200)).text;
    expect(page).toContain('Extracts are not open yet');
    expect(page).toContain('not yet part of the rollout');
    expect(page).not.toContain('Send the extract');
    expect(page).not.toMatch(/<input[^>]*type="file"/);
  });
});
