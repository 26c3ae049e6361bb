import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * The architecture's rules that the compiler does not check (docs/ARCHITECTURE.md): each table is
 * written by the library that owns it, through that library's service (STYLE 13).
 */
const root = path.join(__dirname, '..');

/** Every non-test TypeScript source under `dir`, as [path relative to the repo, text]. */
function sources(dir: string): [string, string][] {
  const out: [string, string][] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts') && !p.endsWith('.spec.ts'))
        out.push([path.relative(root, p), readFileSync(p, 'utf8')]);
    }
  };
  walk(path.join(root, dir));
  return out;
}

/** The folder that writes: `libs/<name>` or `apps/<name>`. */
const ownerOf = (file: string) => file.split(path.sep).slice(0, 2).join('/');

/** Tables and the one library that writes them. */
const TABLE_OWNERS: Record<string, string> = {
  objection_events: 'libs/objections',
  objection_register: 'libs/objections',
  bid_votes: 'libs/governance',
  bid_events: 'libs/bids',
  bids: 'libs/bids',
  agreements: 'libs/bids',
  audit_log: 'libs/audit',
};

describe('table owners', () => {
  const files = [...sources('libs'), ...sources('apps')];

  it.each(Object.entries(TABLE_OWNERS))('%s is written only by %s', (table, owner) => {
    const write = new RegExp(`\\b(INSERT\\s+INTO|UPDATE|DELETE\\s+FROM|COPY|TRUNCATE)\\s+${table}\\b`, 'i');
    const writers = files.filter(([f, text]) => write.test(text) && ownerOf(f) !== owner).map(([f]) => f);
    expect(writers).toEqual([]);
  });
});

describe('named queries', () => {
  it('objections_as_of is read through the objections library (objectionsAsOf)', () => {
    const readers = [...sources('libs'), ...sources('apps')]
      .filter(([f, text]) => /\bobjections_as_of\s*\(/.test(text) && ownerOf(f) !== 'libs/objections')
      .map(([f]) => f);
    expect(readers).toEqual([]);
  });
});
