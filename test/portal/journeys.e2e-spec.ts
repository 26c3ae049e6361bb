import { createHash } from 'node:crypto';
import type { BrowserContext, Page } from 'playwright-core';
import { checkPage, Demo, startDemo } from './browser';

/**
 * The portal's journeys end to end, in Debian's Chromium, against the service started as
 * `npm start` starts it (dist, embedded PostgreSQL, demo seed). Every page visited is screenshotted
 * (test-artifacts/screenshots/) and checked with axe-core for serious or critical violations.
 */
describe('portal journeys in a real browser', () => {
  let demo: Demo;
  const checked: string[] = [];
  const contexts: BrowserContext[] = [];
  const title = `Statins and stroke outcomes ${Date.now().toString(36)}`;
  let bidPath = '';

  beforeAll(async () => {
    demo = await startDemo();
  }, 120_000);
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await demo?.stop();
  }, 30_000);

  async function signIn(email: string, name: string): Promise<Page> {
    const context = await demo.browser.newContext({ baseURL: demo.base, acceptDownloads: true });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto('/sign-in');
    await page.getByLabel('Email address').fill(email);
    await page.getByLabel('Password').fill(demo.credentials.get(email)!);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForLoadState('load');
    expect(page.url(), `${name} signed in`).not.toContain('/sign-in');
    return page;
  }

  it('anyone: the public register with filters and a CSV download', async () => {
    const context = await demo.browser.newContext({ baseURL: demo.base });
    contexts.push(context);
    const page = await context.newPage();
    const blocked: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) blocked.push(m.text());
    });
    await page.goto('/');
    await checkPage(page, 'public-1-start', checked);
    // nhsuk-frontend's inline script ran under a CSP without 'unsafe-inline' (allowed by its hash).
    expect(await page.evaluate("document.body.classList.contains('js-enabled')")).toBe(true);
    expect(blocked).toEqual([]);
    // Keyboard: the first Tab reaches the skip link, which moves focus to the main content.
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.textContent.trim()')).toBe('Skip to main content');
    await page.goto('/public-register');
    await checkPage(page, 'public-2-register', checked);
    const all = await page.locator('table.nhsuk-table tbody tr').count();
    expect(all).toBeGreaterThan(0); // the demo has approved and active requests
    await page.getByLabel('Tier').selectOption('aggregate');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForURL(/tier=aggregate/);
    await checkPage(page, 'public-3-register-filtered', checked);
    const rows = await page.locator('table.nhsuk-table tbody tr').allInnerTexts();
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => /Aggregate/.test(r))).toBe(true);
    const csvHref = await page
      .getByRole('link', { name: 'Download this register as CSV' })
      .getAttribute('href');
    expect(csvHref).toBe('/api/register?tier=aggregate&format=csv');
    const csv = await page.request.get(csvHref!);
    expect(csv.status()).toBe(200);
    expect(csv.headers()['content-type']).toMatch(/text\/csv/);
    expect((await csv.text()).split('\n').filter(Boolean).length).toBe(rows.length + 1);
    // A bad filter is an error summary linked to its field, not a crash.
    await page.goto('/public-register?from=yesterday');
    await checkPage(page, 'public-4-register-error', checked);
    await expect(page.locator('.nhsuk-error-summary a[href="#from"]').count()).resolves.toBe(1);
  }, 150_000);

  it('researcher: signs in, sees the organisation’s requests, creates one with the tier’s columns, submits it', async () => {
    const context = await demo.browser.newContext({ baseURL: demo.base });
    contexts.push(context);
    const anon = await context.newPage();
    await anon.goto('/requests');
    expect(new URL(anon.url()).pathname).toBe('/sign-in'); // the portal's own session check
    await anon.getByLabel('Email address').fill('researcher@leeds.example');
    await anon.getByLabel('Password').fill('not-the-password');
    await anon.getByRole('button', { name: 'Sign in' }).click();
    await expect(anon.locator('.nhsuk-error-summary').innerText()).resolves.toMatch(/not correct/);
    await checkPage(anon, 'researcher-0-sign-in-error', checked);

    const page = await signIn('researcher@leeds.example', 'researcher');
    expect(new URL(page.url()).pathname).toBe('/requests');
    await checkPage(page, 'researcher-1-requests', checked);
    const list = await page.locator('table.nhsuk-table tbody').innerText();
    expect(list).toMatch(/Draft/);
    expect(list).toMatch(/Active/);

    await page.getByRole('button', { name: 'Request data' }).click();
    await page.waitForURL('**/requests/new');
    // Submitting the empty form: an error summary whose links lead to the fields.
    await page.getByRole('button', { name: 'Save draft request' }).click();
    // The click only starts the form's POST: wait for the answer page before counting (counting at
    // once read the old page whenever the machine was busy).
    await page.locator('.nhsuk-error-summary li').first().waitFor();
    await expect(page.locator('.nhsuk-error-summary li').count()).resolves.toBeGreaterThan(3);
    // The error summary takes focus (NHS.UK frontend JS), so screen-reader users hear it first.
    await page.waitForFunction('document.activeElement?.classList.contains("nhsuk-error-summary")');
    expect(await page.title()).toMatch(/^Error: /);
    await checkPage(page, 'researcher-2-new-request-errors', checked);

    await page.getByLabel('Title').fill(title);
    await page.getByLabel('Purpose').fill('Whether statin prescribing is associated with fewer strokes.');
    await page.getByLabel('Public benefit').fill('Evidence for prescribing guidance on stroke prevention.');
    await page.locator('input[name="requestedTier"][value="pseudonymised"]').check();
    await page.locator('input[name="legalBasis"][value="s251"]').check();
    await page.getByLabel('Legal basis reference', { exact: true }).fill('CAG 7-07(a)/2013');
    for (const f of ['nhs_number', 'date_of_birth', 'postcode', 'sex', 'code', 'event_date'])
      await page.locator(`input[name="fields_gp"][value="${f}"]`).check();
    await page.getByLabel('Postcode areas (optional)').fill('LS');
    await page.getByLabel('Duration in months').fill('12');
    // The preview shows the pseudonymised columns, and changes with the tier.
    const preview = page.locator('#columns-preview');
    await expect(preview.innerText()).resolves.toMatch(/pseudo_id.*birth_year_month.*postcode_district/s);
    await page.locator('input[name="requestedTier"][value="anonymised"]').check();
    await expect(preview.innerText()).resolves.toMatch(/person_token.*age_band.*area/s);
    await page.locator('input[name="requestedTier"][value="identifiable"]').check();
    await expect(preview.innerText()).resolves.toMatch(/nhs_number.*date_of_birth.*postcode/s);
    await page.locator('input[name="requestedTier"][value="pseudonymised"]').check();
    await preview.scrollIntoViewIfNeeded();
    await checkPage(page, 'researcher-3-new-request', checked);
    await page.getByRole('button', { name: 'Save draft request' }).click();
    await page.waitForURL(/\/requests\/[0-9a-f-]{36}$/);
    bidPath = new URL(page.url()).pathname;
    const columns = await page.locator('table.nhsuk-table').first().innerText();
    expect(columns).toMatch(/nhs_number\s+pseudo_id/);
    expect(columns).toMatch(/date_of_birth\s+birth_year_month/);
    expect(columns).toMatch(/postcode\s+postcode_district/);
    await checkPage(page, 'researcher-4-draft', checked);
    await page.getByRole('button', { name: 'Submit request' }).click();
    await page.waitForLoadState('load');
    await expect(page.locator('.nhsuk-notification-banner').innerText()).resolves.toMatch(
      /Request submitted/,
    );
    await expect(page.locator('.nhsuk-summary-list').first().innerText()).resolves.toMatch(/Submitted/);
    await checkPage(page, 'researcher-5-submitted', checked);
  }, 150_000);

  it('release officer: screens the request into review', async () => {
    expect(bidPath).not.toBe('');
    const page = await signIn('release.officer@custodian.example', 'release officer');
    expect(new URL(page.url()).pathname).toBe('/screening');
    await checkPage(page, 'officer-1-screening-queue', checked);
    await page.getByRole('link', { name: title }).click();
    await page.waitForLoadState('load');
    await checkPage(page, 'officer-2-screening-bid', checked);
    // Returning without remarks is refused with an error summary.
    await page.locator('input[name="outcome"][value="return"]').check();
    await page.getByRole('button', { name: 'Record screening outcome' }).click();
    await expect(page.locator('.nhsuk-error-summary').innerText()).resolves.toMatch(/remarks/i);
    await page.locator('input[name="outcome"][value="accept"]').check();
    await page.getByRole('button', { name: 'Record screening outcome' }).click();
    await page.waitForURL('**/screening');
    await expect(page.locator('.nhsuk-notification-banner').innerText()).resolves.toMatch(
      /accepted into review/,
    );
  }, 150_000);

  it('panel: three members declare interests and vote; the outcome shows when quorum is reached', async () => {
    const id = bidPath.split('/').pop();
    for (const [i, who] of ['panel1', 'panel2', 'panel3'].entries()) {
      const page = await signIn(`${who}@custodian.example`, who);
      expect(new URL(page.url()).pathname).toBe('/panel');
      if (i === 0) await checkPage(page, 'panel-1-queue', checked);
      await page.getByRole('link', { name: title }).click();
      await page.waitForURL(`**/panel/${id}`);
      if (i === 0) {
        // The vote needs a declaration of interests.
        await page.locator('input[name="decision"][value="approve"]').check();
        await page.getByRole('button', { name: 'Record my vote' }).click();
        await expect(page.locator('.nhsuk-error-summary').innerText()).resolves.toMatch(
          /conflict of interest/,
        );
        await checkPage(page, 'panel-2-bid-and-vote', checked);
      }
      await page.locator('input[name="conflictOfInterest"][value="no"]').check();
      await page.locator('input[name="decision"][value="approve"]').check();
      if (i === 2) await page.getByLabel('Conditions (optional)').fill('Publish the analysis code');
      await page.getByRole('button', { name: 'Record my vote' }).click();
      await page.waitForURL(`**/panel/${id}`);
      const banner = await page.locator('.nhsuk-notification-banner').innerText();
      if (i < 2) {
        expect(banner).toMatch(new RegExp(`${i + 1} of 3 votes`));
        // The member's own vote replaces the form, which would now be refused (a walk-through, 2026-12-06).
        await expect(page.getByRole('button', { name: 'Record my vote' }).count()).resolves.toBe(0);
        await expect(page.locator('main').innerText()).resolves.toMatch(/You voted on .*: approve/);
      } else {
        expect(banner).toMatch(/Quorum reached: the request is approved/);
        await checkPage(page, 'panel-3-outcome', checked);
      }
    }
  }, 150_000);

  it('researcher: sees the decision and conditions, and accepts the agreement', async () => {
    const page = await signIn('researcher@leeds.example', 'researcher');
    await page.goto(bidPath);
    const text = await page.locator('main').innerText();
    expect(text).toMatch(/Decision/);
    expect(text).toMatch(/Approved/);
    expect(text).toMatch(/Publish the analysis code/);
    expect(text).toMatch(/Data sharing agreement/);
    await checkPage(page, 'researcher-6-decision', checked);
    await page.getByRole('button', { name: 'Accept the agreement' }).click();
    await page.waitForLoadState('load');
    await expect(page.locator('.nhsuk-notification-banner').innerText()).resolves.toMatch(
      /Agreement accepted/,
    );
    await expect(page.locator('main').innerText()).resolves.toMatch(/Status\s+Active/);
    await checkPage(page, 'researcher-7-active', checked);
    // Signing out revokes the session: the page is gone, and the old cookie does not come back.
    const cookie = (await page.context().cookies()).find((c) => c.name === 'custodian_portal')!;
    expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict' });
    await page.getByRole('link', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForLoadState('load');
    await page.goto(bidPath);
    expect(new URL(page.url()).pathname).toBe('/sign-in');
  }, 150_000);

  it('release officer and researcher: a release is generated, watched, and its files downloaded', async (ctx) => {
    const page = await signIn('release.officer@custodian.example', 'release officer');
    await page.goto('/data-releases');
    await checkPage(page, 'officer-3-releases', checked);
    const card = page.locator('.nhsuk-card', { hasText: title });
    await expect(card.count()).resolves.toBe(1);
    await card.getByRole('button', { name: /Generate a release/ }).click();
    await page.waitForLoadState('load');
    if (!/\/data-releases\/[0-9a-f-]{36}$/.test(page.url())) {
      // POST /api/bids/:id/releases is the release engine's (branch `release`): not merged here yet.
      const h1 = await page.locator('h1').innerText();
      ctx.skip(`the release engine is not available in this build (${h1})`);
    }
    await checkPage(page, 'officer-4-release-progress', checked);
    const t0 = Date.now();
    while (!/Completed|Failed/.test(await page.locator('#release-status').innerText())) {
      if (Date.now() - t0 > 30_000) throw new Error('the release did not finish within 30 s');
      await page.waitForTimeout(1000);
      await page.reload();
    }
    expect(await page.locator('#release-status').innerText()).toMatch(/Completed/);
    const main = await page.locator('main').innerText();
    expect(main).toMatch(/Patients left out/);
    expect(main).toMatch(/Manifest/);
    await checkPage(page, 'officer-5-release-complete', checked);

    const researcher = await signIn('researcher@leeds.example', 'researcher');
    await researcher.goto(bidPath);
    const files = researcher.locator('table.nhsuk-table', { hasText: 'SHA-256' }).first();
    await checkPage(researcher, 'researcher-8-release-files', checked);
    const first = files.locator('tbody tr').first();
    const [name, , , sha] = await first.locator('td').allInnerTexts();
    const [download] = await Promise.all([
      researcher.waitForEvent('download'),
      first.getByRole('link').click(),
    ]);
    const stream = await download.createReadStream();
    const hash = createHash('sha256');
    for await (const chunk of stream) hash.update(chunk as Buffer);
    expect(download.suggestedFilename()).toBe(name.trim());
    expect(hash.digest('hex')).toBe(sha.trim());
  }, 150_000);

  it('amendments and notices (#25): the panel reads the demo amendment as a table of changes; the researcher opens the amendment in review and the notices', async () => {
    const panel = await signIn('panel1@custodian.example', 'panel1');
    await panel.goto('/panel');
    const link = panel.locator('a[href*="/amendments/"]').first();
    const href = (await link.getAttribute('href'))!;
    expect(href).toMatch(/^\/panel\/[0-9a-f-]{36}\/amendments\/\d+$/);
    await link.click();
    await panel.waitForURL(`**${href}`);
    const headers = await panel.locator('table th').allInnerTexts();
    expect(headers).toEqual(expect.arrayContaining(['Field', 'In force', 'Proposed']));
    await checkPage(panel, 'amendment-1-panel-diff', checked);

    const bidId = href.split('/')[2];
    const researcher = await signIn('researcher@leeds.example', 'researcher');
    await researcher.goto(`/requests/${bidId}`);
    // One amendment at a time: the request links to the one in review instead of a new form.
    await expect(researcher.getByRole('link', { name: 'Amend this request' }).count()).resolves.toBe(0);
    await researcher.getByRole('link', { name: 'See the amendment' }).click();
    await researcher.waitForURL(`**/requests/${bidId}/amendments/*`);
    await expect(researcher.locator('table th').allInnerTexts()).resolves.toEqual(
      expect.arrayContaining(['Field', 'In force', 'Proposed']),
    );
    await checkPage(researcher, 'amendment-2-researcher', checked);
    await researcher.goto('/notices');
    await checkPage(researcher, 'notices-1-researcher', checked);
  }, 150_000);

  it('researcher: a consent cohort file refused with scripts on shows the error summary, then a good one is attached', async () => {
    // A consent draft through the API (the portal's own form is covered above).
    const login = await fetch(`${demo.base}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        email: 'researcher@leeds.example',
        password: demo.credentials.get('researcher@leeds.example'),
      }),
    });
    const { accessToken } = (await login.json()) as { accessToken: string };
    const created = await fetch(`${demo.base}/api/bids`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
      body: JSON.stringify({
        title: 'Consent cohort in the browser',
        purpose: 'Whether statin prescribing is associated with fewer strokes.',
        publicBenefit: 'Evidence for prescribing guidance on stroke prevention.',
        legalBasis: 'consent',
        requestedTier: 'identifiable',
        datasets: [{ dataset: 'gp', fields: ['nhs_number', 'code'] }],
        durationMonths: 6,
      }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const page = await signIn('researcher@leeds.example', 'researcher');
    await page.goto(`/requests/${id}/cohort`);
    const summary = page.locator('.nhsuk-error-summary');
    await expect(summary.isVisible()).resolves.toBe(false);
    const title = await page.title();
    // A file with a line that is no NHS number: refused with its line, shown as the service's own
    // error pages show it (it was only by the field: a screen-reader user heard nothing).
    await page.setInputFiles('#cohortFile', {
      name: 'cohort.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('9434765919\nnot a number\n'),
    });
    await page.getByRole('button', { name: 'Upload the file' }).click();
    await summary.waitFor({ state: 'visible' });
    await expect(summary.innerText()).resolves.toMatch(/There is a problem[\s\S]*line 2/);
    await expect(page.locator('#cohortFile-error').innerText()).resolves.toMatch(/line 2/);
    await page.waitForFunction('document.activeElement?.id === "cohort-error-summary"');
    expect(await page.title()).toBe(`Error: ${title}`);
    await checkPage(page, 'researcher-9-cohort-file-error', checked);
    // The summary's link leads to the file field.
    await summary.getByRole('link').click();
    await page.waitForFunction('document.activeElement?.id === "cohortFile"');
    // A good file: attached, and the request says so.
    await page.setInputFiles('#cohortFile', {
      name: 'cohort.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('9434765919\n9434765870\n'),
    });
    await page.getByRole('button', { name: 'Upload the file' }).click();
    await page.waitForURL(`**/requests/${id}`);
    await expect(page.locator('.nhsuk-notification-banner').innerText()).resolves.toMatch(
      /2 NHS numbers accepted/,
    );
  }, 150_000);

  it('checked every page with axe-core', () => {
    expect(checked.length).toBeGreaterThan(15);
  });
});
