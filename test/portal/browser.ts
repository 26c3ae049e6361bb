import { ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, Browser, Page } from 'playwright-core';
import { freePort } from '@custodian/database';

export const SCREENSHOTS = path.resolve('test-artifacts/screenshots');
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export interface Demo {
  base: string;
  stateDir: string;
  credentials: Map<string, string>;
  browser: Browser;
  output: () => string;
  stop(): Promise<void>;
}

/**
 * The service as `npm start` runs it (built dist, embedded PostgreSQL in a fresh state directory,
 * demo seed on), and Debian's Chromium driven by playwright-core with a fresh profile.
 */
export async function startDemo(env: Record<string, string> = {}): Promise<Demo> {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'custodian-portal-'));
  const port = await freePort();
  let output = '';
  const child: ChildProcess = spawn('node', ['dist/apps/api/src/main.js'], {
    env: {
      ...process.env,
      DATABASE_URL: '',
      NODE_ENV: '',
      DEMO_SEED: 'true',
      CUSTODIAN_STATE_DIR: stateDir,
      PORT: String(port),
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const base = `http://localhost:${port}`;
  const t0 = Date.now();
  for (;;) {
    const ok = await fetch(`${base}/api/health`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (child.exitCode !== null || Date.now() - t0 > 90_000) {
      child.kill('SIGKILL');
      throw new Error(`the service did not start:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  // Stops the service (its worker and embedded PostgreSQL with it) and removes its state.
  const stopService = async () => {
    const exited = new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(stateDir, { recursive: true, force: true });
  };
  let creds: { email: string; password: string }[];
  let browser: Browser;
  try {
    creds = JSON.parse(readFileSync(path.join(stateDir, 'demo-credentials.json'), 'utf8'));
    mkdirSync(SCREENSHOTS, { recursive: true });
    browser = await launchBrowser();
  } catch (e) {
    // No Chromium (say): the service must not outlive the failed set-up, nor its database.
    await stopService();
    throw e;
  }
  return {
    base,
    stateDir,
    credentials: new Map(creds.map((c) => [c.email, c.password])),
    browser,
    output: () => output,
    async stop() {
      await browser.close().catch(() => undefined);
      await stopService();
    },
  };
}

function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export interface Violation {
  id: string;
  impact: string;
  help: string;
  nodes: string[];
}

/** axe-core in the page: the serious and critical WCAG 2.x A/AA (and 2.2) violations. */
export async function axeViolations(page: Page): Promise<Violation[]> {
  await page.evaluate(AXE);
  const result = await page.evaluate(async () => {
    const g = globalThis as unknown as {
      axe: { run: (ctx: unknown, opts: unknown) => Promise<unknown> };
      document: unknown;
    };
    return g.axe.run(g.document, {
      runOnly: {
        type: 'tag',
        values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'],
      },
    });
  });
  const { violations } = result as {
    violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[];
  };
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => n.target.join(' ')),
    }));
}

/** Every page a journey visits: a screenshot kept as an artefact, and no serious or critical axe violation. */
export async function checkPage(
  page: Page,
  name: string,
  checked: string[],
  fullPage = false,
): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage });
  const violations = await axeViolations(page);
  checked.push(`${name} ${new URL(page.url()).pathname}`);
  expect(violations, `${name} (${page.url()})`).toEqual([]);
}
