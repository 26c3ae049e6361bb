import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { LIBRARY_MAP, MODULE_PATH_LIBRARIES } from './support/library-map';

/**
 * The architecture's rules that the compiler does not check (docs/ARCHITECTURE.md): each table is
 * written by the library that owns it, through that library's service (STYLE 13).
 */
const root = path.join(__dirname, '..');

/** Every non-test TypeScript source under `dir`, as [path relative to the repo, text]. */
function sources(dir: string, specs = false): [string, string][] {
  const out: [string, string][] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts') && (specs || !p.endsWith('.spec.ts')))
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
  patients: 'libs/practices',
  objection_register: 'libs/objections',
  bid_votes: 'libs/governance',
  bid_events: 'libs/bids',
  bids: 'libs/bids',
  agreements: 'libs/bids',
  audit_log: 'libs/audit',
  // Written by the trigger on `patients` (migration 1764000042000), which the intake's update fires.
  patient_address_history: 'libs/practices',
  notifications: 'libs/notifications',
};

/** Tables the benchmarks, too, write only through their owner (bench/ bulk-loads the rest itself). */
const BENCH_WRITES_THROUGH_OWNER = ['objection_events', 'objection_register'];

describe('table owners', () => {
  const files = [...sources('libs'), ...sources('apps')];
  const bench = sources('bench');

  it.each(Object.entries(TABLE_OWNERS))('%s is written only by %s', (table, owner) => {
    const write = new RegExp(`\\b(INSERT\\s+INTO|UPDATE|DELETE\\s+FROM|COPY|TRUNCATE)\\s+${table}\\b`, 'i');
    const writers = files.filter(([f, text]) => write.test(text) && ownerOf(f) !== owner).map(([f]) => f);
    expect(writers).toEqual([]);
  });

  it.each(BENCH_WRITES_THROUGH_OWNER)('the benchmarks write %s through its owner', (table) => {
    const write = new RegExp(`\\b(INSERT\\s+INTO|UPDATE|DELETE\\s+FROM|COPY|TRUNCATE)\\s+${table}\\b`, 'i');
    expect(bench.filter(([, text]) => write.test(text)).map(([f]) => f)).toEqual([]);
  });
});

describe('named queries', () => {
  it('objections_as_of is read through the objections library (objectionsAsOf)', () => {
    const readers = [...sources('libs'), ...sources('apps')]
      .filter(([f, text]) => /\bobjections_as_of\s*\(/.test(text) && ownerOf(f) !== 'libs/objections')
      .map(([f]) => f);
    expect(readers).toEqual([]);
  });

  it('bid_votes is read only by governance, its owner (bids asks through BID_VOTERS)', () => {
    const readers = [...sources('libs'), ...sources('apps')]
      .filter(([f, text]) => /\bbid_votes\b/.test(text) && ownerOf(f) !== 'libs/governance')
      .map(([f]) => f);
    expect(readers).toEqual([]);
  });
});

describe('import boundaries (docs/ARCHITECTURE.md, test/support/library-map.ts)', () => {
  const libs = readdirSync(path.join(root, 'libs')).filter((d) =>
    statSync(path.join(root, 'libs', d)).isDirectory(),
  );
  const importsOf = (text: string) =>
    [
      ...text.matchAll(
        /(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g,
      ),
    ].map((m) => m[1] ?? m[2]);

  it('every library is on the map, and the map is a layering (no cycle)', () => {
    expect(Object.keys(LIBRARY_MAP).sort()).toEqual([...libs].sort());
    const order = Object.keys(LIBRARY_MAP);
    for (const [lib, deps] of Object.entries(LIBRARY_MAP))
      for (const d of deps) expect(order.indexOf(d), `${lib} → ${d}`).toBeLessThan(order.indexOf(lib));
  });

  it('a library imports only the libraries the map allows, by name, and never an app', () => {
    const wrong: string[] = [];
    for (const lib of libs) {
      const allowed = new Set([lib, ...LIBRARY_MAP[lib]]);
      const dir = path.join('libs', lib);
      for (const [file, text] of sources(dir, true)) {
        // Unit specs may use the test harness and the synthetic data too.
        const ok = file.endsWith('.spec.ts') ? new Set([...allowed, 'testing', 'synth']) : allowed;
        for (const spec of importsOf(text)) {
          const named = /^@custodian\/([a-z-]+)(?:\/([a-z-]+))?$/.exec(spec);
          if (named) {
            if (!ok.has(named[1])) wrong.push(`${file}: ${spec} (not on the map for ${lib})`);
            else if (named[2] && named[1] !== lib && !MODULE_PATH_LIBRARIES.includes(named[1]))
              wrong.push(`${file}: ${spec} (import the library's index)`);
          } else if (spec.startsWith('.')) {
            const target = path.relative(root, path.resolve(path.dirname(path.join(root, file)), spec));
            const inside = target.startsWith(dir + path.sep);
            // The database library runs the migrations.
            const migrations = lib === 'database' && target === 'migrations';
            if (!inside && !migrations) wrong.push(`${file}: ${spec} (outside libs/${lib}: import by name)`);
          }
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('docs/ARCHITECTURE.md shows the map as it is', () => {
    const doc = readFileSync(path.join(root, 'docs', 'ARCHITECTURE.md'), 'utf8');
    const rows = [...doc.matchAll(/^\| `([a-z-]+)` +\| ([^|]*)\|/gm)].map(
      ([, lib, deps]) =>
        [lib, deps.trim() === '—' ? [] : deps.split(',').map((d) => d.trim().replace(/`/g, ''))] as const,
    );
    expect(Object.fromEntries(rows)).toEqual(LIBRARY_MAP);
  });
});

describe('public faces', () => {
  it('each library index names what it exports (no `export *`)', () => {
    const libs = readdirSync(path.join(root, 'libs'));
    const starred = libs.filter((lib) =>
      /^export \* from/m.test(readFileSync(path.join(root, 'libs', lib, 'src', 'index.ts'), 'utf8')),
    );
    expect(starred).toEqual([]);
  });
});
