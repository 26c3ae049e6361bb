import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { allViolations, DOC_SCREENSHOTS as DOCS } from './axe-strict';
import { Demo, SCREENSHOTS, startDemo } from './browser';

/**
 * The researcher's whole journey, the release officer's and the panel member's, in Debian's
 * Chromium against the service as `npm start` runs it (dist, embedded PostgreSQL, demo seed: each
 * role has something to do at first sign-in). Every page is checked with axe-core with no
 * violation allowed at all (moderate ones such as "region" included), and the main page of each
 * role is screenshotted into docs/portal/ for docs/PORTAL.md.
 */
describe('portal journeys: researcher, release officer, panel member', () => {
  let demo: Demo;
  const contexts: BrowserContext[] = [];
  const checked: string[] = [];

  beforeAll(async () => {
    demo = await startDemo();
    mkdirSync(DOCS, { recursive: true });
  }, 120_000);
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await demo?.stop();
  }, 30_000);

  /** A screenshot (kept as an artefact; a role's main page also in docs/portal/), and no axe violation. */
  async function check(page: Page, name: string, docsName?: string) {
    const file = path.join(SCREENSHOTS, `${name}.png`);
    await page.screenshot({ path: file, fullPage: !!docsName });
    if (docsName) copyFileSync(file, path.join(DOCS, `${docsName}.png`));
    checked.push(name);
    expect(await allViolations(page), `${name} (${page.url()})`).toEqual([]);
  }

  async function signIn(email: string): Promise<Page> {
    const context = await demo.browser.newContext({
      baseURL: demo.base,
      viewport: { width: 1100, height: 900 },
    });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto('/sign-in');
    await page.getByLabel('Email address').fill(email);
    await page.getByLabel('Password').fill(demo.credentials.get(email)!);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForLoadState('load');
    expect(page.url()).not.toContain('/sign-in');
    return page;
  }
  const main = (page: Page) => page.locator('main').innerText();
  const open = async (page: Page, title: string) => {
    await page.getByRole('link', { name: title }).first().click();
    await page.waitForLoadState('load');
  };

  it('researcher: edits a returned request (errors on their fields), resubmits, attaches a consent cohort, withdraws, reads and accepts an agreement', async () => {
    const page = await signIn('researcher@leeds.example');
    expect(new URL(page.url()).pathname).toBe('/requests');
    await check(page, 'portr-researcher-1-requests', 'researcher-requests');

    // A request returned with remarks: the timeline says who returned it and why.
    await open(page, 'Falls in care homes and hospital admission');
    expect(await main(page)).toMatch(
      /Returned by the release officer[\s\S]*Release officer[\s\S]*36 months rather than 12/,
    );
    await check(page, 'portr-researcher-2-returned');
    await page.getByRole('button', { name: 'Change the request' }).click();
    await page.waitForURL(/\/edit$/);
    await expect(page.getByLabel('Title').inputValue()).resolves.toBe(
      'Falls in care homes and hospital admission',
    );
    expect(await main(page)).toMatch(/What the reviewers asked you to change[\s\S]*36 months rather than 12/);
    await check(page, 'portr-researcher-3-edit');
    // Dates reversed: the API refuses; the error is on "Events to", every value kept.
    await page.getByLabel('Events from (optional)').fill('2015-01-01');
    await page.getByLabel('Events to (optional)').fill('2010-12-31');
    await page.getByLabel('Duration in months').fill('12');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.locator('.nhsuk-error-summary').waitFor();
    await expect(page.locator('.nhsuk-error-summary a[href="#eventsTo"]').innerText()).resolves.toMatch(
      /on or after/,
    );
    await expect(page.locator('#title-error').count()).resolves.toBe(0);
    await expect(page.getByLabel('Duration in months').inputValue()).resolves.toBe('12');
    await check(page, 'portr-researcher-4-edit-error');
    await page.getByLabel('Events from (optional)').fill('2010-01-01');
    await page.getByLabel('Events to (optional)').fill('2015-12-31');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.waitForURL(/\/requests\/[0-9a-f-]{36}$/);
    await page.getByRole('button', { name: 'Resubmit request' }).click();
    await page.waitForLoadState('load');
    await expect(page.locator('.nhsuk-notification-banner').innerText()).resolves.toMatch(
      /Request submitted/,
    );

    // A consent request: the cohort file, with a line-numbered error, then the count accepted.
    await page.goto('/requests');
    await open(page, 'Follow-up of the Leeds heart study volunteers');
    await page.getByRole('link', { name: 'Attach the cohort file' }).click();
    await page.waitForURL(/\/cohort$/);
    await check(page, 'portr-researcher-5-cohort');
    const file = (text: string) => ({
      name: 'cohort.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from(text),
    });
    await page.getByLabel('File of NHS numbers').setInputFiles(file('9434765919\n1234567890\n'));
    await page.getByRole('button', { name: 'Upload the file' }).click();
    // The script's answer arrives after the upload: wait for it, then read it.
    await page.locator('#cohortFile-error-text', { hasText: 'line 2' }).waitFor();
    await check(page, 'portr-researcher-6-cohort-error');
    await page.getByLabel('File of NHS numbers').setInputFiles(file('9434765919\n9434765870\n'));
    await page.getByRole('button', { name: 'Upload the file' }).click();
    await page.waitForURL(/\/requests\/[0-9a-f-]{36}$/);
    await expect(page.locator('.nhsuk-notification-banner').innerText()).resolves.toMatch(
      /2 NHS numbers accepted/,
    );
    await page.getByRole('button', { name: 'Submit request' }).click();
    await page.waitForLoadState('load');
    await expect(page.locator('.nhsuk-notification-banner').innerText()).resolves.toMatch(
      /Request submitted/,
    );

    // Withdraw, after confirming.
    await page.goto('/requests');
    await open(page, 'Type 2 diabetes and home care in Leeds');
    await page.getByRole('link', { name: 'Withdraw this request' }).click();
    await check(page, 'portr-researcher-7-withdraw');
    await page.getByRole('button', { name: 'Yes, withdraw the request' }).click();
    await page.waitForLoadState('load');
    expect(await main(page)).toMatch(/Status\s+Withdrawn/);

    // The agreement: its text, then accepted.
    await page.goto('/requests');
    await open(page, 'Asthma prevalence by area');
    const agreement = await main(page);
    expect(agreement).toMatch(/Parties\s+The data centre \(Custodian\) and University of Leeds/);
    expect(agreement).toMatch(/Destruction of the data/);
    await check(page, 'portr-researcher-8-agreement');
    await page.getByRole('button', { name: 'Accept the agreement' }).click();
    await page.waitForLoadState('load');
    expect(await main(page)).toMatch(/Accepted\s+You, /);
  }, 240_000);

  it('release officer: the screening queue with applicant and days waiting; notes for the panel; a second release asks first; progress and exclusions', async () => {
    const page = await signIn('release.officer@custodian.example');
    expect(new URL(page.url()).pathname).toBe('/screening');
    expect(await main(page)).toMatch(/University of Leeds/);
    await check(page, 'portr-officer-1-screening', 'release-officer-screening');
    await open(page, 'Falls in care homes and hospital admission');
    expect(await main(page)).toMatch(/Days since submission\s+0 days/);
    await check(page, 'portr-officer-2-screening-bid');
    await page.locator('input[name="outcome"][value="accept"]').check();
    await page.getByLabel('Notes for the panel (optional)').fill('Check the 36-month term.');
    await page.getByRole('button', { name: 'Record screening outcome' }).click();
    await page.waitForURL('**/screening');

    await page.goto('/data-releases');
    expect(await main(page)).toMatch(/Social care use before hospital admission/);
    await check(page, 'portr-officer-3-releases');
    const card = page.locator('.nhsuk-card', { hasText: 'Social care use before hospital admission' });
    await card.getByRole('button', { name: /Generate a release/ }).click();
    await page.waitForLoadState('load');
    expect(await main(page)).toMatch(/A release of this request exists already/);
    await check(page, 'portr-officer-4-release-confirm');
    await page.getByRole('button', { name: 'Yes, generate another release' }).click();
    await page.waitForURL(/\/data-releases\/[0-9a-f-]{36}$/);
    await expect(page.locator('#release-progress').count()).resolves.toBe(1);
    await check(page, 'portr-officer-5-release-progress');
    // The status part updates itself (scripts), then the page reloads once when the release ends.
    await page
      .locator('#release-status[data-state="completed"], #release-status[data-state="failed"]')
      .waitFor({ timeout: 90_000 });
    await page.waitForLoadState('load');
    const done = await main(page);
    expect(done).toMatch(/Phase\s+Complete/);
    expect(done).toMatch(/Patients left out, and why/);
    await check(page, 'portr-officer-6-release-complete');
  }, 240_000);

  it('panel member: the queue with applicant and notes; a vote; decided requests found by state with their record', async () => {
    const page = await signIn('panel2@custodian.example');
    expect(new URL(page.url()).pathname).toBe('/panel');
    await check(page, 'portr-panel-1-queue', 'panel-review');
    await open(page, 'Falls in care homes and hospital admission');
    expect(await main(page)).toMatch(
      /Notes from the release officer for the panel\s+Check the 36-month term\./,
    );
    await check(page, 'portr-panel-2-bid');
    await page.locator('input[name="conflictOfInterest"][value="no"]').check();
    await page.locator('input[name="decision"][value="approve"]').check();
    await page.getByRole('button', { name: 'Record my vote' }).click();
    await page.waitForLoadState('load');
    expect(await main(page)).toMatch(/Votes counted\s+1/);
    await page.goto('/panel');
    await page.getByLabel('Show requests that are').selectOption('active');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.waitForURL(/state=active/);
    await check(page, 'portr-panel-3-decided');
    await open(page, 'Social care use before hospital admission');
    const record = await main(page);
    expect(record).toMatch(/Votes counted\s+3/);
    expect(record).toMatch(/Publish results within 12 months/);
    await check(page, 'portr-panel-4-record');
  }, 240_000);

  it('checked every page with axe-core', () => {
    expect(checked.length).toBeGreaterThanOrEqual(18);
  });
});
