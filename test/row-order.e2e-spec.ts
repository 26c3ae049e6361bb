import { createTestApp, TestApp } from '@custodian/testing';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@custodian/core';
import { ReleaseEngine } from '@custodian/release';
import { verifyRelease } from '../libs/release/src/verifier/verify-release';
import { ReleaseKeys } from '../libs/release/src/keys';
import { download, newLoad, parseCsvGz, runRelease, seedPractice, spec } from './release-helpers';
import { alignment, sameNeighbours } from './row-order-helpers';

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
    const key = await t.app.get(ReleaseKeys).rowOrderKey(t.app.get(DataSource), id);
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

  it('the verifier checks the order of every file without a person column: rows grouped by person are refused', async () => {
    const { id } = await files([
      { dataset: 'gp', fields: ['date_of_birth', 'sex', 'code', 'event_date'] },
      { dataset: 'hes', fields: ['date_of_birth', 'admission_date'] },
    ]);
    const manifest = JSON.parse(
      readFileSync(path.join(t.app.get(ReleaseEngine).dirOf(id), 'manifest.json'), 'utf8'),
    );
    expect(manifest.verification.checks).toContain(
      'row order: no person grouping in files without a person column',
    );
    const config = t.app.get<AppConfig>(APP_CONFIG);
    const deps = {
      keys: t.app.get(ReleaseKeys),
      anonK: config.anonK,
      anonMaxSuppression: config.anonMaxSuppression,
    };
    const dir = mkdtempSync(path.join(tmpdir(), 'order-'));
    try {
      cpSync(t.app.get(ReleaseEngine).dirOf(id), dir, { recursive: true });
      // The rows as the engine wrote them before #27: by person, then date.
      const file = path.join(dir, 'gp.csv.gz');
      const [head, ...lines] = gunzipSync(readFileSync(file)).toString('utf8').trimEnd().split('\n');
      const key = (l: string) => {
        const [, , code, date] = l.split(',');
        return [personOf(code), date] as const;
      };
      lines.sort((a, b) => key(a)[0] - key(b)[0] || key(a)[1].localeCompare(key(b)[1]));
      writeFileSync(file, gzipSync(`${[head, ...lines].join('\n')}\n`));
      await expect(verifyRelease(dir, { id }, t.app.get(DataSource), deps)).rejects.toThrow(
        /row order: gp.csv.gz: rows with the same person values are next to each other/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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

  it('anonymised, a person column: a person’s rows are together but not in date order; rows re-sorted by date are refused (probe 27)', async () => {
    const rel = await runRelease(
      t,
      spec({
        tier: 'anonymised',
        legalBasis: 'none',
        datasets: [{ dataset: 'gp', fields: ['nhs_number', 'sex', 'event_date'] }],
        recipients: [researcher.id],
        requestedBy: officer.id,
      }),
      officer,
    );
    expect(rel.failure_reason).toBeNull();
    const dirOf = t.app.get(ReleaseEngine).dirOf(rel.id);
    const manifest = JSON.parse(readFileSync(path.join(dirOf, 'manifest.json'), 'utf8'));
    expect(manifest.verification.checks).toContain(
      'row order: within a person, rows do not follow the event periods the file shows',
    );
    const rows = parseCsvGz((await download(t, researcher.auth, rel.id, 'gp.csv.gz')).body).rows;
    const byPerson = new Map<string, string[]>();
    for (const r of rows)
      byPerson.set(r.person_token, [...(byPerson.get(r.person_token) ?? []), r.event_date]);
    expect(byPerson.size).toBe(PERSONS);
    // Together: the person column joins them anyway.
    expect(sameNeighbours(rows.map((r) => [...byPerson.keys()].indexOf(r.person_token))).seen).toBe(
      rows.length - PERSONS,
    );
    // Five months each (two the same), shown: a random order lists them in date order for 1 in 60
    // persons (~4 of 240).
    const periods = [...byPerson.values()];
    expect(periods.every((p) => p.length === GP_EVENTS && p.every((v) => /^\d{4}-\d{2}$/.test(v)))).toBe(
      true,
    );
    const inDateOrder = periods.filter((p) => p.every((v, i) => i === 0 || v >= p[i - 1])).length;
    expect(inDateOrder).toBeLessThan(30);
    // The same rows with each person's rows in date order (the order before probe 27): refused.
    const config = t.app.get<AppConfig>(APP_CONFIG);
    const deps = {
      keys: t.app.get(ReleaseKeys),
      anonK: config.anonK,
      anonMaxSuppression: config.anonMaxSuppression,
    };
    const dir = mkdtempSync(path.join(tmpdir(), 'order-'));
    try {
      cpSync(dirOf, dir, { recursive: true });
      const file = path.join(dir, 'gp.csv.gz');
      const [head, ...lines] = gunzipSync(readFileSync(file)).toString('utf8').trimEnd().split('\n');
      const firstAt = new Map<string, number>();
      lines.forEach((l, i) => firstAt.has(l.split(',')[0]) || firstAt.set(l.split(',')[0], i));
      const date = (l: string) => l.slice(l.lastIndexOf(',') + 1);
      lines.sort(
        (a, b) =>
          firstAt.get(a.split(',')[0])! - firstAt.get(b.split(',')[0])! || date(a).localeCompare(date(b)),
      );
      writeFileSync(file, gzipSync(`${[head, ...lines].join('\n')}\n`));
      await expect(verifyRelease(dir, { id: rel.id }, t.app.get(DataSource), deps)).rejects.toThrow(
        /row order: gp.csv.gz: within a person the shown event periods rise/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
