import { createTestApp, TestApp } from '@custodian/testing';
import { pageText, PortalSession, signInAs } from '../support/portal-session';

/**
 * probe-24, finding 1: the auditor's "To date" filter answers 500 ("Sorry, there is a problem with
 * the service") for any value that is not a date, e.g. 31/12/2026 as people in England write it, or
 * "tomorrow": the page and its CSV export. `AuditorController.filters` records the field error but
 * still computes `endOfDay(to)`, whose `new Date(NaN).toISOString()` throws RangeError. The "From
 * date" box with the same value answers 400 with "Enter the from date as a real date …", and so does
 * a To date like 2026-02-30.
 */
describe('probe-24: the audit trail’s To date filter', () => {
  let t: TestApp;
  let me: PortalSession;

  beforeAll(async () => {
    t = await createTestApp();
    const auditor = await t.as('auditor');
    me = await signInAs(t, auditor, '/audit-trail');
  }, 120_000);
  afterAll(() => t?.close());

  it('the From date 31/12/2026 is a field error (control: this works)', async () => {
    const page = await t.http.get('/audit-trail?from=31%2F12%2F2026').set('cookie', me.cookie);
    expect(page.status).toBe(400);
    expect(pageText(page.text)).toContain('Enter the from date as a real date');
  });

  for (const to of ['31/12/2026', 'tomorrow']) {
    it(`the To date “${to}” is a field error with the value kept, not a 500`, async () => {
      const page = await t.http.get(`/audit-trail?to=${encodeURIComponent(to)}`).set('cookie', me.cookie);
      expect(page.status).toBe(400);
      expect(pageText(page.text)).toContain('Enter the to date as a real date');
      expect(page.text).toContain(`value="${to}"`);
    });

    it(`the CSV export with the To date “${to}” is refused, not a 500`, async () => {
      const res = await t.http
        .get(`/audit-trail/export?to=${encodeURIComponent(to)}`)
        .set('cookie', me.cookie);
      expect(res.status).not.toBe(500);
      expect(res.status).toBe(400);
    });
  }
});
