import { createTestApp, TestApp } from '@custodian/testing';
import { ReleaseKeys } from '../libs/release/src/keys';
import { download, newLoad, parseCsvGz, runRelease, seedPractice, spec } from './release-helpers';

/**
 * SPEC §5 step 5 ("rows carry no person grouping by their order"), #27: per-event files were
 * sorted by the hidden person key, so a person's rows were contiguous and could be rebuilt from a
 * file without a person column, and GP and HES files listed persons in the same order. Files
 * without a person column are now in a keyed per-release shuffle of their rows (shards are ranges
 * of that shuffle, not of persons).
 */
const PERSONS = 240;
const GP_EVENTS = 5;
const HES_EPISODES = 3;

/** Persons' rows next to each other, and what a random order would give (expected count). */
export function sameNeighbours(persons: number[]): { seen: number; chance: number } {
  let seen = 0;
  for (let i = 1; i < persons.length; i++) if (persons[i] === persons[i - 1]) seen++;
  const n = new Map<number, number>();
  for (const p of persons) n.set(p, (n.get(p) ?? 0) + 1);
  let pairs = 0;
  for (const c of n.values()) pairs += c * (c - 1);
  return { seen, chance: pairs / Math.max(persons.length, 1) };
}

/** Spearman's rank correlation of the persons' first positions in two files (persons in both). */
export function alignment(a: number[], b: number[]): number {
  const first = (xs: number[]) => {
    const m = new Map<number, number>();
    xs.forEach((p, i) => m.has(p) || m.set(p, i));
    return m;
  };
  const fa = first(a);
  const fb = first(b);
  const both = [...fa.keys()].filter((p) => fb.has(p));
  const rank = (m: Map<number, number>) => {
    const order = [...both].sort((x, y) => m.get(x)! - m.get(y)!);
    return new Map(order.map((p, i) => [p, i]));
  };
  const ra = rank(fa);
  const rb = rank(fb);
  const n = both.length;
  let d2 = 0;
  for (const p of both) d2 += (ra.get(p)! - rb.get(p)!) ** 2;
  return 1 - (6 * d2) / (n * (n * n - 1));
}

describe('row order: no person grouping and no alignment where no person column is released', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[] };
  let researcher: { id: string; auth: Record<string, string> };

  beforeAll(async () => {
    // Several shards, so the order across shards is tested too.
    t = await createTestApp({ RELEASE_SHARD_ROWS: '300', RELEASE_MAX_SHARDS: '3' });
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles };
    const r = await t.as('researcher');
    researcher = { id: r.user.id, auth: r.auth };
    await seedPractice(t.sql);
    await t.sql.query(
      `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id)
       SELECT (9400000000 + g)::text, DATE '1950-01-01' + g, 'F', 'LS1 4AP', 'A', 'A81001', g::text
         FROM generate_series(1, $1::int) g`,
      [PERSONS],
    );
    // Every GP event and HES episode names its person (code c<person>_<n>, epikey e<person>_<n>).
    await t.sql.query(
      `INSERT INTO gp_events (patient_id, practice_ods, resource_type, resource_id, code_system, code, event_date)
       SELECT p.id, p.practice_ods, 'condition', 'r' || p.source_id || '_' || g, 'snomed',
              'c' || p.source_id || '_' || g, DATE '2012-01-01' + g * 30
         FROM patients p CROSS JOIN generate_series(1, $1::int) g`,
      [GP_EVENTS],
    );
    const load = await newLoad(t.sql, 'hes');
    await t.sql.query(
      `INSERT INTO hes_episodes (epikey, nhs_number, birth_date, sex, postcode, admission_date, diagnosis_icd10, provider_code, load_id, patient_id, linkage_step)
       SELECT 'e' || p.source_id || '_' || g, p.nhs_number, p.birth_date, 'F', 'LS1 4AP', DATE '2013-01-01' + g * 20, 'I63.9', 'RR8', $2, p.id, 1
         FROM patients p CROSS JOIN generate_series(1, $1::int) g`,
      [HES_EPISODES, load],
    );
  });
  afterAll(() => t?.close());

  const files = async (datasets: { dataset: 'gp' | 'hes'; fields: string[] }[]) => {
    const rel = await runRelease(
      t,
      spec({
        tier: 'identifiable',
        legalBasis: 's251',
        datasets,
        recipients: [researcher.id],
        requestedBy: officer.id,
      }),
      officer,
    );
    expect(rel.failure_reason).toBeNull();
    const { rows } = await t.sql.query(
      `SELECT count(*)::int AS n FROM release_shards WHERE release_id = $1`,
      [rel.id],
    );
    expect(rows[0].n).toBeGreaterThan(1);
    const get = async (name: string) =>
      parseCsvGz((await download(t, researcher.auth, rel.id, name)).body).rows;
    return { id: rel.id, gp: await get('gp.csv.gz'), hes: await get('hes.csv.gz') };
  };
  const personOf = (v: string) => Number(/^[ce](\d+)_/.exec(v)![1]);

  it('per-event files without a person column: rows of one person are not next to each other more than chance, GP and HES not aligned', async () => {
    const { gp, hes } = await files([
      { dataset: 'gp', fields: ['code', 'event_date'] },
      { dataset: 'hes', fields: ['epikey', 'admission_date'] },
    ]);
    expect(gp).toHaveLength(PERSONS * GP_EVENTS);
    expect(new Set(gp.map((r) => r.code)).size).toBe(PERSONS * GP_EVENTS); // no row twice across shards
    expect(new Set(hes.map((r) => r.epikey)).size).toBe(PERSONS * HES_EPISODES);
    const gpPersons = gp.map((r) => personOf(r.code));
    const hesPersons = hes.map((r) => personOf(r.epikey));
    for (const persons of [gpPersons, hesPersons]) {
      const { seen, chance } = sameNeighbours(persons);
      expect(seen).toBeLessThanOrEqual(chance + 6 * Math.sqrt(chance) + 3);
    }
    expect(Math.abs(alignment(gpPersons, hesPersons))).toBeLessThan(0.3);
  });

  it('the order is the keyed hash of the rows, across shard boundaries: a rebuild (any shard count) writes the same order', async () => {
    const { id, gp } = await files([
      { dataset: 'gp', fields: ['code'] },
      { dataset: 'hes', fields: ['epikey'] },
    ]);
    const key = await t.app
      .get(ReleaseKeys)
      .rowOrderKey({ query: async (q: string, p?: unknown[]) => (await t.sql.query(q, p)).rows }, id);
    const { rows } = await t.sql.query(
      `SELECT code FROM gp_events
        ORDER BY ('x' || left(md5($1 || 'gp:' || id::text), 16))::bit(64)::bigint, id`,
      [key.toString('hex')],
    );
    expect(gp.map((r) => r.code)).toEqual(rows.map((r) => r.code));
  });

  it('a file with a person column beside one without: each complete, the first grouped by person, the second not', async () => {
    const { gp, hes } = await files([
      { dataset: 'gp', fields: ['nhs_number', 'code'] },
      { dataset: 'hes', fields: ['epikey'] },
    ]);
    expect(new Set(gp.map((r) => r.code)).size).toBe(PERSONS * GP_EVENTS);
    expect(gp).toHaveLength(PERSONS * GP_EVENTS);
    expect(sameNeighbours(gp.map((r) => personOf(r.code))).seen).toBe(PERSONS * (GP_EVENTS - 1));
    expect(new Set(hes.map((r) => r.epikey)).size).toBe(PERSONS * HES_EPISODES);
    const { seen, chance } = sameNeighbours(hes.map((r) => personOf(r.epikey)));
    expect(seen).toBeLessThanOrEqual(chance + 6 * Math.sqrt(chance) + 3);
  });

  it('per-person files without a person column are not aligned either', async () => {
    const { gp, hes } = await files([
      { dataset: 'gp', fields: ['date_of_birth'] },
      { dataset: 'hes', fields: ['date_of_birth'] },
    ]);
    expect(gp).toHaveLength(PERSONS);
    const day = (d: string) => Math.round((Date.parse(d) - Date.parse('1950-01-01')) / 86_400_000);
    expect(
      Math.abs(
        alignment(
          gp.map((r) => day(r.date_of_birth)),
          hes.map((r) => day(r.date_of_birth)),
        ),
      ),
    ).toBeLessThan(0.3);
  });

  it('files with a person column keep each person’s rows together (they can be joined by it anyway)', async () => {
    const { gp } = await files([
      { dataset: 'gp', fields: ['nhs_number', 'code'] },
      { dataset: 'hes', fields: ['nhs_number', 'epikey'] },
    ]);
    const { seen } = sameNeighbours(gp.map((r) => personOf(r.code)));
    expect(seen).toBe(PERSONS * (GP_EVENTS - 1));
  });
});
