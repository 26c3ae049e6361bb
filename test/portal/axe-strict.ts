import path from 'node:path';
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { SCREENSHOTS } from './browser';

const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
/** Screenshots of each role's main page, kept in the repository for docs/PORTAL.md. */
export const DOC_SCREENSHOTS = path.resolve('docs/portal');

/**
 * Every axe-core violation of the WCAG 2.0–2.2 A/AA rules and best practices, whatever its impact
 * (moderate and minor included, "region" among them: nothing outside a landmark).
 */
export async function allViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE);
  const result = (await page.evaluate(async () => {
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
  })) as { violations: { id: string; impact: string; nodes: { target: string[] }[] }[] };
  return result.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
  );
}

/** A screenshot (an artefact, and for the docs when named so), and no axe violation at all. */
export async function checkStrict(
  page: Page,
  name: string,
  checked: string[],
  opts: { doc?: string } = {},
): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  if (opts.doc) await page.screenshot({ path: path.join(DOC_SCREENSHOTS, `${opts.doc}.png`) });
  checked.push(`${name} ${new URL(page.url()).pathname}`);
  expect(await allViolations(page), `${name} (${page.url()})`).toEqual([]);
}
