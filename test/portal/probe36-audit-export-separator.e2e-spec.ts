import { createTestApp, TestApp } from '@custodian/testing';
import { PortalSession, signInAs } from '../support/portal-session';

/**
 * Probe 36: the auditor's CSV export of the audit trail (`/audit-trail/export`) quotes every cell and
 * neutralises a formula where a cell begins, but a spreadsheet whose list separator is `;` (many
 * European locales) splits each line at every `;`, quoted or not. Anyone, without signing in, can put
 * text there: a failed sign-in is audited with the email typed, and `"x;=cmd|' /C calc'!A0;"@…` is a
 * valid (quoted local part) email. The auditor's export then opened with a cell holding that formula.
 */
describe('the audit trail export in a spreadsheet that splits on semicolons', () => {
  let t: TestApp;
  let me: PortalSession;

  beforeAll(async () => {
    t = await createTestApp();
    me = await signInAs(t, await t.as('auditor'), '/audit-trail');
  }, 120_000);
  afterAll(() => t?.close());

  it('has no piece between semicolons that starts like a formula, whoever wrote the text', async () => {
    const emails = [
      `"x;=cmd|' /C calc'!A0;"@example.org`,
      '"y; @SUM(A1);"@example.org',
      '"z;-2+3;"@example.org',
    ];
    for (const email of emails)
      await t.http.post('/api/auth/login').send({ email, password: 'not the password' }).expect(401);
    const csv = await t.http
      .get('/audit-trail/export?action=auth.login')
      .set('cookie', me.cookie)
      .expect(200);
    const lines = csv.text.split('\n').filter((l) => l.includes('example.org'));
    expect(lines).toHaveLength(emails.length);
    for (const line of lines)
      for (const piece of line.split(';').slice(1)) expect(piece, line).not.toMatch(/^[\s"]*[=+\-@\t\r]/);
  });
});
