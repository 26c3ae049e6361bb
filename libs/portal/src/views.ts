import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import nunjucks from 'nunjucks';

/** The first existing directory among candidates (source tree under tests, repo files when run from dist). */
function firstExisting(candidates: string[], what: string): string {
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`portal: cannot find ${what} (looked in ${candidates.join(', ')})`);
  return found;
}

/** libs/portal, found from this file in the source tree or in dist/libs/portal/src. */
export const PORTAL_ROOT = firstExisting(
  [path.resolve(__dirname, '..'), path.resolve(__dirname, '../../../../libs/portal')].filter((d) =>
    existsSync(path.join(d, 'views')),
  ),
  'libs/portal/views',
);

/** nhsuk-frontend's compiled CSS, JS, templates and images. */
export const NHSUK_DIST = path.join(path.dirname(require.resolve('nhsuk-frontend/package.json')), 'dist');

export function createViewEnvironment(): nunjucks.Environment {
  const env = new nunjucks.Environment(
    new nunjucks.FileSystemLoader([path.join(PORTAL_ROOT, 'views'), NHSUK_DIST], {
      noCache: false,
    }),
    { autoescape: true, throwOnUndefined: false, trimBlocks: true, lstripBlocks: true },
  );
  const dateFmt = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric' });
  const dateTimeFmt = new Intl.DateTimeFormat('en-GB', {
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    timeZone: 'UTC',
  });
  env.addFilter('date', (v: unknown) => (v ? dateFmt.format(new Date(String(v))) : ''));
  env.addFilter('datetime', (v: unknown) => (v ? `${dateTimeFmt.format(new Date(String(v)))} UTC` : ''));
  env.addFilter('humanise', (v: unknown) => humaniseText(v));
  env.addFilter('bytes', (v: unknown) => {
    const n = Number(v);
    if (!Number.isFinite(n)) return '';
    if (n < 1024) return `${n} bytes`;
    if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
    return `${(n / 1024 / 1024).toFixed(1)} MB`;
  });
  env.addFilter('number', (v: unknown) =>
    v === null || v === undefined ? '' : Number(v).toLocaleString('en-GB'),
  );
  env.addFilter('json', (v: unknown) => JSON.stringify(v, null, 2));
  // A dataset's short name as people say it (`hes` is HES, not "Hes").
  env.addFilter('dataset', (v: unknown) => DATASET_SHORT_NAMES[String(v)] ?? String(v ?? ''));
  return env;
}

const DATASET_SHORT_NAMES: Record<string, string> = { gp: 'GP', hes: 'HES', social_care: 'social care' };

/** Words of codes as people write them ("Invalid nhs number" read as a slip; a walk-through). */
const WORDS: Record<string, string> = {
  nhs: 'NHS',
  s251: 'section 251',
  hes: 'HES',
  gp: 'GP',
  ods: 'ODS',
  dob: 'date of birth',
  icd10: 'ICD-10',
  opcs4: 'OPCS-4',
  snomed: 'SNOMED CT',
  csv: 'CSV',
  fhir: 'FHIR',
  ons: 'ONS',
  id: 'ID',
};

/** A code in words: `invalid_nhs_number` → "Invalid NHS number", `s251` → "Section 251". */
export function humaniseText(v: unknown): string {
  const s = String(v ?? '')
    .replace(/_/g, ' ')
    .split(' ')
    .map((w) => WORDS[w.toLowerCase()] ?? w)
    .join(' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The colour of a bid state's tag (NHS tag colours). */
export const STATE_TAG: Record<string, string> = {
  draft: 'nhsuk-tag--grey',
  submitted: 'nhsuk-tag--blue',
  returned: 'nhsuk-tag--orange',
  in_review: 'nhsuk-tag--purple',
  approved: 'nhsuk-tag--aqua-green',
  rejected: 'nhsuk-tag--red',
  active: 'nhsuk-tag--green',
  expired: 'nhsuk-tag--grey',
  revoked: 'nhsuk-tag--red',
  closed: 'nhsuk-tag--grey',
  withdrawn: 'nhsuk-tag--grey',
  queued: 'nhsuk-tag--grey',
  running: 'nhsuk-tag--blue',
  completed: 'nhsuk-tag--green',
  failed: 'nhsuk-tag--red',
  outbox: 'nhsuk-tag--yellow',
  sent: 'nhsuk-tag--green',
  cancelled: 'nhsuk-tag--grey',
};

/**
 * CSP source expressions ('sha256-…') for the inline scripts of the page templates: nhsuk-frontend's
 * one line that marks the body `js-enabled`. Hashes rather than nonces: the scripts are constant, so
 * the security headers stay built once, and `script-src` needs no 'unsafe-inline'.
 */
export function inlineScriptHashes(): string[] {
  const templates = [path.join(NHSUK_DIST, 'nhsuk/template.njk'), path.join(PORTAL_ROOT, 'views/layout.njk')];
  const hashes = new Set<string>();
  for (const file of templates) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/<script\b[^>]*>([^<]+)<\/script>/g))
      hashes.add(`'sha256-${createHash('sha256').update(m[1]!).digest('base64')}'`);
  }
  return [...hashes];
}
