import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * STYLE 13-15 read off the tree: one owner per table (a table is written only by its library),
 * one definition of each thing (the catalogue, tiers and their column names, the cohort type,
 * each queue name), pipelines as stages (no source file over ~400 lines but data tables). A copy that
 * comes back fails here before review.
 */
const root = path.resolve(__dirname, '..');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(root, dir))) {
    const rel = path.join(dir, name);
    if (statSync(path.join(root, rel)).isDirectory()) out.push(...sources(rel));
    else if (name.endsWith('.ts') && !name.endsWith('.spec.ts')) out.push(rel);
  }
  return out;
}
// The verifier keeps its own spelling of the rules on purpose (STYLE 17: independent of the engine).
const code = [...sources('libs'), ...sources('apps'), ...sources('bench')].filter(
  (f) => !f.startsWith('libs/release/src/verifier/'),
);
const text = (f: string) => readFileSync(path.join(root, f), 'utf8');
const where = (re: RegExp) => code.filter((f) => re.test(text(f)));

describe('one owner per table, one definition per thing', () => {
  it('register_entries is written by the register library alone', () => {
    const writers = where(/(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+register_entries\b/i);
    expect(writers.filter((f) => !f.startsWith('libs/register/'))).toEqual([]);
  });

  it("the release library reads the bids' and identity's tables through their named queries", () => {
    const release = code.filter((f) => f.startsWith('libs/release/'));
    const named = /\b(FROM|JOIN|UPDATE|INTO)\s+(bids|agreements|bid_cohort_members|users|organisations)\b/;
    expect(release.filter((f) => named.test(text(f)))).toEqual([]);
  });

  it('one catalogue: release keeps no copy of the fields, datasets, tiers or their column names', () => {
    expect(existsSync(path.join(root, 'libs/release/src/catalogue.ts'))).toBe(false);
    expect(where(/export type Tier\b/)).toEqual(['libs/catalog/src/tiers.ts']);
    expect(where(/export type Dataset\b/)).toEqual(['libs/catalog/src/catalogue.ts']);
    // The tier's person column names are spelt in the catalogue only.
    expect(where(/['"`]person_token['"`]/).filter((f) => !f.startsWith('libs/catalog/'))).toEqual([]);
    expect(where(/['"`]postcode_district['"`]/).filter((f) => !f.startsWith('libs/catalog/'))).toEqual([]);
  });

  it('one Cohort type, one LegalBasis and one name for each release queue', () => {
    expect(where(/export (interface|type) Cohort\b/)).toHaveLength(1);
    expect(where(/export type LegalBasis\b/)).toEqual(['libs/bids/src/bid-rules.ts']);
    for (const queue of ['release.run', 'release.destroy', 'release.shard'])
      expect(where(new RegExp(`=\\s*'${queue.replace('.', '\\.')}'`))).toHaveLength(1);
  });

  it('the release library: no dead register code, no source file over ~400 lines', () => {
    expect(where(/releaseRegisterLines|RELEASE_REGISTER_VIEW/)).toEqual([]);
    const long = sources('libs/release/src').filter((f) => text(f).split('\n').length > 420);
    expect(long).toEqual([]);
  });

  it('no source file under libs/ or apps/ over 400 lines, but the data tables', () => {
    // Data tables: values, not logic (one job however long).
    const dataTables = ['libs/synth/src/reference-data.ts'];
    const lines = (f: string) => text(f).trimEnd().split('\n').length;
    const long = [...sources('libs'), ...sources('apps')]
      .filter((f) => !dataTables.includes(f) && lines(f) > 400)
      .map((f) => `${f}: ${lines(f)}`);
    expect(long).toEqual([]);
  });

  it('the extract intake as stages: its coordinator and stages none over ~400 lines', () => {
    const intake = ['libs/practices/src/extracts.service.ts', ...sources('libs/practices/src/intake')];
    const long = intake.filter((f) => text(f).split('\n').length > 420);
    expect(long).toEqual([]);
  });
});
