import type { BrowserContext, Page } from 'playwright-core';
import { Demo, startDemo } from './browser';

/**
 * Every page each role reaches by following links (a crawl from its landing page and the start
 * page, in Chromium, against the service as `npm start` runs it), at a 320 px viewport:
 *
 * - nothing needs scrolling sideways (WCAG 1.4.10 reflow: `scrollWidth` at most 320);
 * - the page's title contains its `h1` (every line of it: a caption inside the heading too);
 * - pages of one kind about different objects (`/data-loads/:id`, `/requests/:id` …) have
 *   different titles: the title says which object it is.
 *
 * An outsider's probe found every page 329 px wide (the header's service name), the statistics 576
 * px (the chart), the admin's user pages 430-467 px (an email in the heading), and titles that did
 * not match their heading or were one for all objects of a kind.
 */
const WIDTH = 320;
const SIGN_INS = [
  'researcher@leeds.example',
  'panel1@custodian.example',
  'release.officer@custodian.example',
  'practice.a81001@nhs.example',
  'data.manager@custodian.example',
  'admin@custodian.example',
  'auditor@custodian.example',
];
/** Pages a crawl does not open: downloads, exports, the API, and the sign-out form (ends the session). */
const SKIP = /^\/(api|assets)(\/|$)|\/files\/|\/export|^\/sign-out/;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
/** The kind of a page: its path with ids taken out (`/requests/:id`). */
const kindOf = (path: string) => path.replace(UUID, ':id').replace(/\/\d+(?=\/|$)/g, '/:n');

interface Seen {
  url: string;
  title: string;
  h1: string[];
  width: number;
}

describe('every page a role reaches, at 320 px: no sideways scrolling, a title that names the page', () => {
  let demo: Demo;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    demo = await startDemo();
  }, 120_000);
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await demo?.stop();
  }, 30_000);

  async function browse(): Promise<Page> {
    const context = await demo.browser.newContext({
      baseURL: demo.base,
      viewport: { width: WIDTH, height: 640 },
    });
    contexts.push(context);
    return context.newPage();
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

  /** Opens each page reachable by links (at most `perKind` of a kind, `limit` in all), and reads it. */
  async function crawl(page: Page, start: string[], perKind = 3, limit = 45): Promise<Seen[]> {
    const queue = [...start];
    const queued = new Set(queue);
    const kinds = new Map<string, number>();
    const seen: Seen[] = [];
    while (queue.length && seen.length < limit) {
      const url = queue.shift()!;
      const kind = kindOf(new URL(url, demo.base).pathname);
      if ((kinds.get(kind) ?? 0) >= perKind) continue;
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      await page.goto(url);
      const read = await page.evaluate(() => {
        interface El {
          innerText: string;
          hasAttribute(name: string): boolean;
          getAttribute(name: string): string | null;
        }
        const d = (
          globalThis as unknown as {
            document: {
              title: string;
              documentElement: { scrollWidth: number };
              querySelector(s: string): El | null;
              querySelectorAll(s: string): ArrayLike<El>;
            };
          }
        ).document;
        return {
          title: d.title,
          h1: (d.querySelector('h1')?.innerText ?? '')
            .split('\n')
            .map((l: string) => l.replace(/\s+/g, ' ').trim())
            .filter(Boolean),
          width: d.documentElement.scrollWidth,
          links: Array.from(d.querySelectorAll('a[href]'))
            .filter((a) => !a.hasAttribute('download'))
            .map((a) => a.getAttribute('href')!),
        };
      });
      seen.push({ url, title: read.title.replace(/\s+/g, ' '), h1: read.h1, width: read.width });
      for (const href of read.links) {
        const u = new URL(href, page.url());
        if (u.origin !== new URL(demo.base).origin || SKIP.test(u.pathname)) continue;
        const next = `${u.pathname}${u.search}`;
        if (!queued.has(next)) {
          queued.add(next);
          queue.push(next);
        }
      }
    }
    return seen;
  }

  /** Every problem of every page at once (one failure lists them all). */
  function check(who: string, seen: Seen[]) {
    expect(seen.length, who).toBeGreaterThan(3);
    const problems = seen.flatMap((s) => [
      ...(s.width > WIDTH ? [`${s.url}: ${s.width} px wide`] : []),
      ...(!s.h1.length || s.h1.some((line) => !s.title.includes(line))
        ? [`${s.url}: title "${s.title}" without its h1 "${s.h1.join(' / ')}"`]
        : []),
    ]);
    const byKind = new Map<string, Seen[]>();
    for (const s of seen) {
      const kind = kindOf(new URL(s.url, demo.base).pathname);
      if (kind.includes(':')) byKind.set(kind, [...(byKind.get(kind) ?? []), s]);
    }
    for (const [kind, pages] of byKind)
      if (new Set(pages.map((p) => p.title)).size < pages.length)
        problems.push(`${kind}: one title for ${pages.map((p) => `${p.url} "${p.title}"`).join('; ')}`);
    expect(problems, who).toEqual([]);
  }

  it('the public pages', async () => {
    const page = await browse();
    check('public', await crawl(page, ['/', '/public-register', '/published-statistics', '/sign-in']));
  }, 120_000);

  for (const email of SIGN_INS)
    it(`${email}: every page its links reach`, async () => {
      const page = await signIn(email);
      const landing = new URL(page.url()).pathname;
      // The national rollout's confirmation is behind a button (a form), not a link.
      const extra = email === 'admin@custodian.example' ? ['/admin/practices/national-rollout'] : [];
      check(email, await crawl(page, [landing, '/', ...extra]));
    }, 240_000);
});
