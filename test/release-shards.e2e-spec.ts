import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createTestApp, TestApp } from '@custodian/testing';
import { ReleaseEngine, ReleaseService } from '@custodian/release';
import type { ReleaseSpec } from '@custodian/release';
import {
  addObjection,
  ensureActiveBid,
  newLoad,
  seedPractice,
  spec,
  waitForRelease,
} from './release-helpers';
import { killWorker, startWorker } from './support/worker-process';

/**
 * Sharded releases (#6): a release split into shards by person that several worker processes build
 * in parallel gives the same rows, in the same order, as one unsharded build; two sharded builds
 * of the same data give byte-identical files; objectors stay out of every shard.
 */
describe('release shards across worker processes', () => {
  let t: TestApp;
  const workers: ChildProcess[] = [];
  let officer: { id: string; roles: string[] };
  let researcherId: string;

  beforeAll(async () => {
    t = await createTestApp({ RUN_WORKER: 'false' });
    officer = (await t.as('release_officer')).user as never;
    researcherId = (await t.as('researcher')).user.id;
    await seedPractice(t.sql);
    await t.sql.query(
      `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id)
       SELECT (9500000000 + g)::text, DATE '1940-01-01' + (g * 37 % 25000), CASE WHEN g % 2 = 0 THEN 'M' ELSE 'F' END,
              (ARRAY['LS1 4AP','LS6 2AA','BD1 1AA'])[1 + g % 3], 'A', 'A81001', g::text
         FROM generate_series(1, 4000) g`,
    );
    await t.sql.query(
      `INSERT INTO gp_events (patient_id, practice_ods, resource_type, resource_id, code_system, code, event_date)
       SELECT p.id, p.practice_ods, 'observation', 'o' || g, 'snomed', (100000 + g)::text, DATE '2010-01-01' + ((p.id * 7 + g) % 4000)::int
         FROM patients p CROSS JOIN generate_series(1, 25) g ORDER BY p.id, g`,
    );
    const hes = await newLoad(t.sql, 'hes');
    await t.sql.query(
      `INSERT INTO hes_episodes (epikey, nhs_number, birth_date, sex, admission_date, diagnosis_icd10, load_id, patient_id, linkage_step)
       SELECT 'E' || p.id, p.nhs_number, p.birth_date, p.sex, DATE '2015-01-01' + (p.id % 900)::int, 'I63.9', $1,
              CASE WHEN p.id % 4 = 0 THEN NULL ELSE p.id END, CASE WHEN p.id % 4 = 0 THEN NULL ELSE 1 END
         FROM patients p`,
      [hes],
    );
    for (let g = 10; g <= 4000; g += 97) await addObjection(t.sql, String(9500000000 + g), 'type2');
  });
  afterAll(async () => {
    for (const w of workers) await killWorker(w);
    await t?.close();
  });

  const gunzipped = (id: string, name: string) =>
    gunzipSync(readFileSync(path.join(t.config.dataDir, id, name))).toString('utf8');

  it('shards built by two worker processes equal one unsharded build, row for row; rebuilt, byte for byte', async () => {
    const s: ReleaseSpec = spec({
      tier: 'pseudonymised',
      datasets: [
        { dataset: 'gp', fields: ['nhs_number', 'date_of_birth', 'postcode', 'sex', 'code', 'event_date'] },
        { dataset: 'hes', fields: ['nhs_number', 'admission_date', 'diagnosis_icd10'] },
      ],
      recipients: [researcherId],
      requestedBy: officer.id,
    });
    await ensureActiveBid(t, s);
    const releases = t.app.get(ReleaseService);

    // One build in this process with the default shard size: a single shard.
    const single = await releases.request(s, officer as never);
    await t.app.get(ReleaseEngine).run(single.id);
    expect((await waitForRelease(t, single.id)).state).toBe('completed');

    // Two worker processes, 8,000-row shards: 100,000 GP rows make eight shards (RELEASE_MAX_SHARDS).
    for (let i = 0; i < 2; i++)
      workers.push(
        await startWorker(t, {
          RELEASE_SHARD_ROWS: '8000',
          RELEASE_MAX_SHARDS: '8',
          WORKER_CONCURRENCY: '2',
        }),
      );
    const a = await releases.request(s, officer as never);
    expect((await waitForRelease(t, a.id, 90_000)).state).toBe('completed');
    const b = await releases.request(s, officer as never);
    expect((await waitForRelease(t, b.id, 90_000)).state).toBe('completed');

    const { rows: shards } = await t.sql.query(
      `SELECT release_id, count(*)::int AS n, count(DISTINCT worker)::int AS workers, bool_and(state = 'done') AS done
         FROM release_shards WHERE release_id = ANY($1) GROUP BY release_id`,
      [[single.id, a.id, b.id]],
    );
    const byId = Object.fromEntries(shards.map((r) => [r.release_id, r]));
    expect(byId[single.id]).toMatchObject({ n: 1, done: true });
    expect(byId[a.id]).toMatchObject({ n: 8, done: true });
    expect(byId[b.id]).toMatchObject({ n: 8, done: true });
    // Both processes built shards of the two sharded releases.
    const { rows: procs } = await t.sql.query(
      `SELECT count(DISTINCT split_part(worker, ':', 2))::int AS n FROM release_shards WHERE release_id = ANY($1)`,
      [[a.id, b.id]],
    );
    expect(procs[0].n).toBe(2);

    for (const name of ['gp.csv.gz', 'hes.csv.gz']) {
      const one = gunzipped(single.id, name);
      expect(gunzipped(a.id, name)).toBe(one); // same header, rows and order
      expect(readFileSync(path.join(t.config.dataDir, a.id, name))).toEqual(
        readFileSync(path.join(t.config.dataDir, b.id, name)),
      ); // deterministic bytes
    }
    const gp = gunzipped(a.id, 'gp.csv.gz').trimEnd().split('\n');
    expect(gp[0]).toBe('pseudo_id,birth_year_month,postcode_district,sex,code,event_date');
    const objectors = 42; // g = 10, 107, …, 3987
    expect(gp.length - 1).toBe((4000 - objectors) * 25);
    // Ordered by pseudo_id across shard boundaries.
    const ids = gp.slice(1).map((l) => l.split(',')[0]);
    expect(ids.every((id, i) => i === 0 || ids[i - 1] <= id)).toBe(true);
    const manifest = JSON.parse(readFileSync(path.join(t.config.dataDir, a.id, 'manifest.json'), 'utf8'));
    expect(manifest.files.find((f: { name: string }) => f.name === 'gp.csv.gz').rows).toBe(gp.length - 1);
    // Nothing left behind: working tables dropped, no shard files.
    const work = await t.sql.query(
      `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'release_work'`,
    );
    expect(work.rows[0].n).toBe(0);
  }, 180_000);

  it('per-person files (read from the working set, not piped) and k-anonymity suppression are the same sharded or not', async () => {
    for (const w of workers.splice(0)) await killWorker(w);
    // Three people alone in their district: a class smaller than k, suppressed at the finest levels.
    await t.sql.query(
      `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id)
       SELECT (9500009000 + g)::text, DATE '1950-03-01', 'M', 'YO1 7HH', 'A', 'A81001', 'y' || g
         FROM generate_series(1, 3) g`,
    );
    await t.sql.query(
      `INSERT INTO gp_events (patient_id, practice_ods, resource_type, resource_id, code_system, code, event_date)
       SELECT id, practice_ods, 'observation', 'y1', 'snomed', '100001', DATE '2012-01-01' FROM patients WHERE postcode = 'YO1 7HH'`,
    );
    // An organisation of its own: the earlier test's bids draw on the same population, and a
    // release is compared with them (release-ledger.ts), which would hold the 3 new persons back.
    researcherId = (await t.as('researcher')).user.id;
    const perPerson = spec({
      tier: 'pseudonymised',
      datasets: [{ dataset: 'gp', fields: ['nhs_number', 'date_of_birth', 'postcode', 'sex'] }],
      recipients: [researcherId],
      requestedBy: officer.id,
    });
    const anonymised = spec({
      tier: 'anonymised',
      datasets: [
        { dataset: 'gp', fields: ['nhs_number', 'date_of_birth', 'postcode', 'sex'] },
        { dataset: 'hes', fields: ['nhs_number', 'date_of_birth', 'sex', 'admission_date'] },
      ],
      recipients: [researcherId],
      requestedBy: officer.id,
    });
    const releases = t.app.get(ReleaseService);
    const build = async (s: ReleaseSpec, inProcess: boolean) => {
      await ensureActiveBid(t, s);
      const r = await releases.request(s, officer as never);
      if (inProcess) await t.app.get(ReleaseEngine).run(r.id);
      expect((await waitForRelease(t, r.id, 90_000)).state).toBe('completed');
      const { rows } = await t.sql.query(
        `SELECT count(*)::int AS n FROM release_shards WHERE release_id = $1`,
        [r.id],
      );
      return { id: r.id, shards: rows[0].n as number };
    };
    // One shard each, in this process (the default shard size is far above 4,000 persons).
    const single = [await build(perPerson, true), await build(anonymised, true)];
    // Two worker processes, 500-row shards.
    for (let i = 0; i < 2; i++)
      workers.push(await startWorker(t, { RELEASE_SHARD_ROWS: '500', RELEASE_MAX_SHARDS: '8' }));
    const sharded = [await build(perPerson, false), await build(anonymised, false)];
    expect(single.map((r) => r.shards)).toEqual([1, 1]);
    expect(sharded.map((r) => r.shards)).toEqual([8, 8]);

    // Pseudonymised: the same bid key, so the same file.
    const one = gunzipped(single[0].id, 'gp.csv.gz');
    expect(gunzipped(sharded[0].id, 'gp.csv.gz')).toBe(one);
    expect(one.trimEnd().split('\n').length - 1).toBe(4000 - 42 + 3);

    // Anonymised: new tokens per release, so the same rows apart from the token, in token order,
    // the same levels and suppression, and every class of each file at least k.
    const manifest = (id: string) =>
      JSON.parse(readFileSync(path.join(t.config.dataDir, id, 'manifest.json'), 'utf8')).kAnonymity;
    expect(manifest(sharded[1].id)).toEqual(manifest(single[1].id));
    // The manifest (researchers read it) shows 1–7 persons as `*`; staff have the exact 3.
    expect(manifest(single[1].id)).toMatchObject({ suppressed: '*', suppressedByFile: { gp: '*' } });
    for (const r of [single[1], sharded[1]]) {
      const { rows } = await t.sql.query(`SELECT excluded FROM releases WHERE id = $1`, [r.id]);
      expect(rows[0].excluded.kAnonymity).toMatchObject({ suppressed: 3, suppressedByFile: { gp: 3 } });
    }
    for (const name of ['gp.csv.gz', 'hes.csv.gz']) {
      const lines = (id: string) => gunzipped(id, name).trimEnd().split('\n').slice(1);
      const a = lines(single[1].id);
      const b = lines(sharded[1].id);
      const rest = (l: string[]) => l.map((x) => x.slice(x.indexOf(',') + 1)).sort();
      expect(rest(b)).toEqual(rest(a));
      const tokens = b.map((x) => x.split(',')[0]);
      expect(tokens.every((x, i) => i === 0 || tokens[i - 1] <= x)).toBe(true);
      const classes = new Map<string, Set<string>>();
      for (const x of b) {
        const [token, ...qi] = x.split(',');
        const key = name === 'hes.csv.gz' ? qi.slice(0, 2).join(',') : qi.join(',');
        classes.set(key, (classes.get(key) ?? new Set()).add(token));
      }
      for (const members of classes.values()) expect(members.size).toBeGreaterThanOrEqual(10);
    }
  }, 240_000);
});
