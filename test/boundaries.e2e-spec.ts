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

/** Tables and the one library that may read them by name; every other reader uses its named queries. */
const READ_OWNERS: Record<string, string> = {
  patients: 'libs/practices',
  gp_events: 'libs/practices',
  patient_registrations: 'libs/practices',
  patient_address_history: 'libs/practices',
  practices: 'libs/practices',
  extracts: 'libs/practices',
  hes_episodes: 'libs/linkage',
  social_care_records: 'libs/linkage',
  source_loads: 'libs/linkage',
  objection_events: 'libs/objections',
  objection_register: 'libs/objections',
  bids: 'libs/bids',
  bid_events: 'libs/bids',
  bid_versions: 'libs/bids',
  bid_cohort_members: 'libs/bids',
  agreements: 'libs/bids',
  bid_votes: 'libs/governance',
  users: 'libs/identity',
  organisations: 'libs/identity',
  role_grants: 'libs/identity',
  auth_sessions: 'libs/auth',
  refresh_tokens: 'libs/auth',
  audit_log: 'libs/audit',
  register_entries: 'libs/register',
  register_log: 'libs/register',
  releases: 'libs/release',
  release_files: 'libs/release',
  bid_keys: 'libs/release',
  notifications: 'libs/notifications',
  catalog_datasets: 'libs/catalog',
  catalog_fields: 'libs/catalog',
  catalog_dimensions: 'libs/catalog',
};

/**
 * Readers that keep their own SQL over another library's table, each for a reason:
 * - the independent release verifier (issue #19, STYLE 17) must not share the engine's cohort and
 *   exclusion SQL: it recomputes the exclusions from the objection history and the sources with
 *   code of its own, so a fault in the owners' named queries cannot hide from it;
 * - linkage sits *below* practices on the map (practices imports it), so it cannot import its
 *   named queries: it matches source rows to `patients` and their address history, in SQL built
 *   when its modules load. The arrow would have to run through a provider the owner supplies, as
 *   `HELD_GP_DATA` does for the objection register (`heldAt`, `registeredAt`, `deleteType1Held`).
 */
const READ_EXEMPT: { dir: string; tables: string[] }[] = [
  {
    dir: 'libs/release/src/verifier/',
    tables: ['objection_events', 'hes_episodes', 'social_care_records', 'bid_cohort_members'],
  },
  { dir: 'libs/linkage/', tables: ['patients', 'patient_address_history'] },
];

/** The SQL of a source without its comments (a comment may name a table). */
const withoutComments = (text: string) => text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');

describe('cross-library reads through named queries of the owner', () => {
  const files = [...sources('libs'), ...sources('apps')].map(
    ([f, text]) => [f, withoutComments(text)] as const,
  );

  it.each(Object.entries(READ_OWNERS))('%s is read by name only in %s', (table, owner) => {
    const read = new RegExp(`\\b(FROM|JOIN)\\s+${table}\\b`);
    const exempt = (f: string) => READ_EXEMPT.some((e) => f.startsWith(e.dir) && e.tables.includes(table));
    const readers = files
      .filter(([f, text]) => ownerOf(f) !== owner && !exempt(f) && read.test(text))
      .map(([f]) => f);
    expect(readers).toEqual([]);
  });

  it('the verifier keeps its own reads (its exemption is still needed)', () => {
    const verifier = files.filter(([f]) => f.startsWith('libs/release/src/verifier/'));
    expect(verifier.some(([, text]) => /\bFROM\s+objection_events\b/.test(text))).toBe(true);
  });

  it("the verifier imports none of the engine's cohort, exclusion, event or column SQL (STYLE 17)", () => {
    const engineSql =
      /^\.\.\/(engine\/|release-sql|dataset-sql|qi-ladders\.sql|release-columns\.sql|aggregate-cells)/;
    const imports = (text: string) => [...text.matchAll(/\bfrom\s+['"]([^'"]+)['"]/g)].map((m) => m[1]);
    const wrong = sources('libs/release/src/verifier').flatMap(([f, text]) =>
      imports(text)
        .filter((i) => engineSql.test(i))
        .map((i) => `${f} → ${i}`),
    );
    expect(wrong).toEqual([]);
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
