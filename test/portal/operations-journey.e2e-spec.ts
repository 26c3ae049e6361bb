import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { Demo, startDemo } from './browser';
import { checkStrict } from './axe-strict';
import { condition, ndjson, nhsNumber, patient } from '../support/fhir';
import { HES_HEADER, hes, toCsv } from '../linkage-fixtures';

/**
 * The journeys of the practice, the data manager, the administrator, the auditor and the public,
 * in Debian's Chromium against the service as `npm start` runs it (dist, embedded PostgreSQL, demo
 * seed). Every page is checked with axe-core with no violation allowed (moderate and minor too,
 * "region" included); each role's main page is screenshotted into docs/portal/ for docs/PORTAL.md.
 */
describe('operations journeys in a real browser', () => {
  let demo: Demo;
  const checked: string[] = [];
  const contexts: BrowserContext[] = [];
  /** Requests any page made to another origin (the portal must work with no internet). */
  const foreign: string[] = [];
  const files = mkdtempSync(path.join(tmpdir(), 'custodian-uploads-'));

  beforeAll(async () => {
    // LOG_LEVEL info: what a newcomer's `npm start` prints.
    demo = await startDemo({ LOG_LEVEL: 'info' });
  }, 120_000);
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await demo?.stop();
  }, 30_000);

  async function browse(viewport?: { width: number; height: number }): Promise<Page> {
    const context = await demo.browser.newContext({
      baseURL: demo.base,
      acceptDownloads: true,
      ...(viewport ? { viewport } : {}),
    });
    contexts.push(context);
    const page = await context.newPage();
    page.on('request', (r) => {
      if (!r.url().startsWith(demo.base) && !r.url().startsWith('data:')) foreign.push(r.url());
    });
    return page;
  }
  async function signIn(email: string): Promise<Page> {
    const page = await browse();
    await page.goto('/sign-in');
    await page.getByLabel('Email address').fill(email);
    await page.getByLabel('Password').fill(demo.credentials.get(email)!);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForLoadState('load');
    expect(page.url(), `${email} signed in`).not.toContain('/sign-in');
    return page;
  }

  it('start-up: the portal’s sign-in address and the sign-ins come first and plainly, without route lines or PostgreSQL errors', () => {
    const out = demo.output();
    const lines = out.split('\n');
    const banner = lines.findIndex((l) => l.startsWith('Custodian is running. Sign in to the portal at'));
    expect(banner, out.slice(0, 4000)).toBeGreaterThan(-1);
    expect(lines[banner]).toBe(`Custodian is running. Sign in to the portal at ${demo.base}/sign-in`);
    expect(lines.slice(banner + 1, banner + 4).join('\n')).toMatch(
      /Demo sign-ins[\s\S]*admin@custodian\.example/,
    );
    // Before it: the database's own lines and a few readable ones, not ~125 JSON route mappings.
    expect(banner).toBeLessThan(12);
    expect(out).not.toMatch(/Mapped \{/);
    expect(out).not.toMatch(/temp_buffers/);
    expect(lines.slice(0, banner).filter((l) => l.startsWith('{'))).toEqual([]);
  });

  it('practice: the overview, an extract sent through the upload form and its report, an objection registered', async () => {
    const page = await signIn('practice.a81001@nhs.example');
    expect(new URL(page.url()).pathname).toBe('/practice');
    await checkStrict(page, 'practice-1-overview', checked, { doc: 'practice' });
    await page.getByRole('link', { name: 'All extracts' }).click();
    await page.waitForURL('**/practice/extracts');
    await checkStrict(page, 'practice-2-extracts', checked);
    const file = path.join(files, 'extract.ndjson');
    writeFileSync(
      file,
      ndjson([patient('j1', nhsNumber(810_001)), condition('j1-c', 'j1')]) + '{"resourceType":\n',
    );
    await page.getByLabel('Extract file').setInputFiles(file);
    await page.getByRole('button', { name: 'Send the extract' }).click();
    await page.waitForURL(/\/practice\/extracts\/[0-9a-f-]{36}$/);
    await expect(page.locator('h1').innerText()).resolves.toMatch(/^Extract report\nSent \d/);
    await expect(page.locator('td[data-label="Line"]').first().innerText()).resolves.toBe('3');
    await checkStrict(page, 'practice-3-extract-report', checked);
    await page.goto('/practice/objections');
    await page.getByLabel('NHS number').fill(nhsNumber(810_002));
    await page.getByLabel('Type 2: data does not leave the data centre').check();
    await page.getByLabel('Register the objection').check();
    await page.getByRole('button', { name: 'Record' }).click();
    await page.locator('.nhsuk-notification-banner').waitFor();
    await expect(page.locator('.nhsuk-notification-banner').innerText()).resolves.toMatch(
      /Type 2 objection registered/,
    );
    await checkStrict(page, 'practice-4-objections', checked);
    // An error: summary and field linked.
    await page.getByLabel('NHS number').fill('123');
    await page.getByRole('button', { name: 'Record' }).click();
    await page.locator('.nhsuk-error-summary').waitFor();
    await checkStrict(page, 'practice-5-objection-error', checked);
  }, 120_000);

  it('practice that declined the pilot: records today as its awareness start, and is told when extracts open', async () => {
    const page = await signIn('practice.a81002@nhs.example');
    await expect(page.locator('main').innerText()).resolves.toMatch(/not yet part of the rollout/);
    await page.getByRole('button', { name: 'We started informing patients today' }).click();
    await page.locator('.nhsuk-notification-banner').waitFor();
    await expect(page.locator('.nhsuk-notification-banner').innerText()).resolves.toMatch(
      /Awareness start recorded/,
    );
    await checkStrict(page, 'practice-6-awareness-recorded', checked);
  }, 120_000);

  it('data manager: loads a HES file with progress, reads the linkage report step by step', async () => {
    const page = await signIn('data.manager@custodian.example');
    expect(new URL(page.url()).pathname).toBe('/data-loads');
    await checkStrict(page, 'data-manager-1-loads', checked, { doc: 'data-manager' });
    const file = path.join(files, 'hes.csv');
    writeFileSync(
      file,
      toCsv(HES_HEADER, [
        hes('J1', nhsNumber(810_003), '1980-05-17', '1', 'LS6 1AB'),
        hes('J2', '1234567890', 'bad', '7', 'LS6 1AB'),
      ]),
    );
    await page.getByLabel('HES admitted patient care file').setInputFiles(file);
    await page.getByRole('button', { name: 'Load the HES file' }).click();
    await page.waitForURL(/\/data-loads\/[0-9a-f-]{36}$/);
    await expect(page.locator('td[data-label="Row"]').first().innerText()).resolves.toBe('2');
    await checkStrict(page, 'data-manager-2-load-report', checked);
  }, 120_000);

  it('admin: users, a new user with two roles, organisations, practices and the national rollout’s confirmation', async () => {
    const page = await signIn('admin@custodian.example');
    expect(new URL(page.url()).pathname).toBe('/admin/users');
    await checkStrict(page, 'admin-1-users', checked, { doc: 'admin' });
    // The demo's pending grant, asked for by the second administrator: the demo admin's to approve.
    await page.getByRole('button', { name: 'Approve Panel member for panel4@custodian.example' }).click();
    await page.waitForURL('**/admin/users');
    await expect(page.locator('.nhsuk-notification-banner').innerText()).resolves.toMatch(/Role approved/);
    await page.getByRole('button', { name: 'Create a user' }).click();
    await page.waitForURL('**/admin/users/new');
    await page.getByRole('button', { name: 'Create the user' }).click();
    await page.locator('.nhsuk-error-summary').waitFor();
    await checkStrict(page, 'admin-2-new-user-errors', checked);
    await page.getByLabel('Email address').fill('new.analyst@leeds.example');
    await page.getByLabel('Name').fill('Nia Analyst');
    await page.getByLabel('Password').fill('a-long-enough-password-1');
    await page.getByLabel('Researcher').check();
    await page.getByLabel('Auditor').check();
    await page.getByLabel('Organisation').selectOption({ label: 'University of Leeds (Academic)' });
    await page.getByRole('button', { name: 'Create the user' }).click();
    await page.waitForURL('**/admin/users');
    await expect(page.locator('.nhsuk-notification-banner').innerText()).resolves.toMatch(
      /new\.analyst@leeds\.example created/,
    );
    await page.goto('/admin/organisations');
    await checkStrict(page, 'admin-3-organisations', checked);
    await page.goto('/admin/practices');
    await checkStrict(page, 'admin-4-practices', checked);
    await page.getByRole('link', { name: 'Start the national rollout' }).click();
    await page.waitForURL('**/admin/practices/national-rollout');
    await checkStrict(page, 'admin-5-national-rollout', checked);
  }, 120_000);

  it('auditor: the trail, a filter, the CSV export and the chain verified', async () => {
    const page = await signIn('auditor@custodian.example');
    expect(new URL(page.url()).pathname).toBe('/audit-trail');
    await checkStrict(page, 'auditor-1-trail', checked, { doc: 'auditor' });
    await page.getByText('Filter the entries').click();
    await page.getByLabel('Action').fill('auth.login');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForURL(/action=auth\.login/);
    const actions = await page.locator('td[data-label="Action"]').allInnerTexts();
    expect(actions.length).toBeGreaterThan(0);
    expect(actions.every((a) => a === 'auth.login')).toBe(true);
    await checkStrict(page, 'auditor-2-filtered', checked);
    const href = await page.getByRole('link', { name: 'Download these entries as CSV' }).getAttribute('href');
    const csv = await page.request.get(href!);
    expect(csv.headers()['content-type']).toMatch(/text\/csv/);
    expect((await csv.text()).trim().split('\n').length).toBe(actions.length + 1);
    await page.getByRole('link', { name: 'Verify the hash chain' }).click();
    await page.waitForURL('**/audit-trail/verify');
    await expect(page.locator('main').innerText()).resolves.toMatch(/The chain is intact/);
    await checkStrict(page, 'auditor-3-verify', checked);
  }, 120_000);

  it('everyone: the start page, and the public register readable on a 375 px screen', async () => {
    const page = await browse({ width: 375, height: 812 });
    await page.goto('/');
    await checkStrict(page, 'public-1-start-narrow', checked, { doc: 'public-start' });
    // The header names the product, not the NHS.
    await expect(page.locator('header').innerText()).resolves.toMatch(/Custodian/);
    expect(await page.locator('header svg.nhsuk-header__logo').count()).toBe(0);
    await expect(page.locator('footer').innerText()).resolves.not.toMatch(/NHS England/);
    await page.goto('/public-register');
    await checkStrict(page, 'public-2-register-narrow', checked, { doc: 'public-register' });
    const cell = page.locator('td[data-label="Data"]').first();
    const td = `document.querySelector('td[data-label="Data"]')`;
    expect(await page.evaluate(`getComputedStyle(${td}).display`)).toBe('block');
    expect(await page.evaluate(`getComputedStyle(${td}, '::before').content`)).toBe('"Data"');
    // Nothing wider than the screen.
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    await expect(cell.innerText()).resolves.toMatch(/GP records|hospital episodes|social care/i);
    await page.goto('/public-register?from=2026-12-31&to=2026-01-01');
    await expect(page.locator('.nhsuk-error-summary a[href="#to"]').count()).resolves.toBe(1);
    await checkStrict(page, 'public-3-register-reversed', checked);
    const css = await page.request.get('/assets/nhsuk/nhsuk-frontend.min.css');
    expect(await css.text()).not.toMatch(/https?:\/\//);
    expect(foreign).toEqual([]);
  }, 120_000);
});
