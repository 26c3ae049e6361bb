import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { createTestApp, TestApp } from '@custodian/testing';
import { ReleaseEngine, ReleaseSpec } from '@custodian/release';
import { VerificationFailure, verifyRelease } from '../libs/release/src/verifier/verify-release';
import {
  download,
  newLoad,
  parseCsvGz,
  runRelease,
  seedPractice,
  spec,
  verifierDeps,
} from './release-helpers';

/**
 * Issue #19, "k-anonymity over everything that locates a person": in the anonymised tier the HES
 * `provider_code` and the social-care `la_code` are quasi-identifiers with their own ladders
 * (as held → region → `*`). A person who is one of a few of their age band and sex treated at a
 * provider was released as held. Classes are over (the person's quasi-identifiers, the location)
 * per person-location pair, counted in persons.
 */
describe('anonymised tier: locations are quasi-identifiers (SPEC §5 step 4)', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[] };
  let researcher: { id: string; auth: Record<string, string> };
  let db: DataSource;
  let deps: ReturnType<typeof verifierDeps>;
  const scratch: string[] = [];

  /**
   * 200 GP patients alike in age, sex, area and ethnicity (their person classes are far over k),
   * each with one HES episode: 150 at RR8 (Leeds) and 30 at RAE (Bradford), then five each at
   * three more Yorkshire providers (RHQ, RXF, RWY) and at REM (Liverpool, North West). Patient 1
   * also has an episode at REM. 20 of them have social-care records: 10 in Leeds, 5 in Bradford
   * and 5 in Sheffield (all Yorkshire and The Humber).
   */
  const PROVIDERS = [
    ...Array<string>(150).fill('RR8'),
    ...Array<string>(30).fill('RAE'),
    ...Array<string>(5).fill('RHQ'),
    ...Array<string>(5).fill('RXF'),
    ...Array<string>(5).fill('RWY'),
    ...Array<string>(5).fill('REM'),
  ];
  const LAS = [
    ...Array<string>(10).fill('E08000035'),
    ...Array<string>(5).fill('E08000032'),
    ...Array<string>(5).fill('E08000019'),
  ];

  beforeAll(async () => {
    t = await createTestApp();
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles };
    const r = await t.as('researcher');
    researcher = { id: r.user.id, auth: r.auth };
    db = t.app.get<DataSource>(getDataSourceToken());
    deps = verifierDeps(t);
    await seedPractice(t.sql);
    await t.sql.query(
      `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id)
       SELECT (9200000000 + g)::text, DATE '1970-05-17', 'F', 'LS1 4AP', 'A', 'A81001', g::text
         FROM generate_series(1, 200) g`,
    );
    await t.sql.query(
      `INSERT INTO gp_events (patient_id, practice_ods, resource_type, resource_id, code_system, code, event_date)
       SELECT id, practice_ods, 'condition', 'c' || id, 'snomed', '22298006', DATE '2012-03-04' FROM patients`,
    );
    const hes = await newLoad(t.sql, 'hes');
    await t.sql.query(
      `INSERT INTO hes_episodes (epikey, nhs_number, birth_date, sex, postcode, admission_date, diagnosis_icd10, provider_code, load_id, patient_id, linkage_step)
       SELECT 'E' || p.nhs_number, p.nhs_number, p.birth_date, p.sex, p.postcode, DATE '2013-06-01', 'I63.9',
              ($1::text[])[(p.nhs_number::bigint - 9200000000)::int], $2::uuid, p.id, 1
         FROM patients p
       UNION ALL
       SELECT 'X1', p.nhs_number, p.birth_date, p.sex, p.postcode, DATE '2014-02-01', 'J18.9', 'REM', $2::uuid, p.id, 1
         FROM patients p WHERE p.nhs_number = '9200000001'`,
      [PROVIDERS, hes],
    );
    const sc = await newLoad(t.sql, 'social_care');
    await t.sql.query(
      `INSERT INTO social_care_records (la_code, person_id, nhs_number, birth_date, sex, postcode, service_type, start_date, load_id, patient_id, linkage_step)
       SELECT ($1::text[])[(p.nhs_number::bigint - 9200000000)::int], 'P' || p.nhs_number, p.nhs_number, p.birth_date,
              p.sex, p.postcode, 'home_care', DATE '2013-01-01', $2::uuid, p.id, 2
         FROM patients p WHERE p.nhs_number::bigint <= 9200000020`,
      [LAS, sc],
    );
  });
  afterAll(async () => {
    for (const d of scratch) rmSync(d, { recursive: true, force: true });
    await t?.close();
  });

  const PERSON = ['nhs_number', 'date_of_birth', 'postcode', 'sex'];
  const DATASETS: ReleaseSpec['datasets'] = [
    { dataset: 'gp', fields: [...PERSON, 'ethnicity', 'code'] },
    { dataset: 'hes', fields: [...PERSON, 'admission_date', 'provider_code'] },
    { dataset: 'social_care', fields: [...PERSON, 'la_code', 'start_date'] },
  ];
  const QI = ['age_band', 'area', 'sex'];

  /** Persons (distinct tokens) per class of the person quasi-identifiers and `location`, row by row. */
  function classes(rows: Record<string, string>[], location: string): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>();
    for (const r of rows) {
      const key = [...QI, location].map((c) => r[c]).join('|');
      out.set(key, (out.get(key) ?? new Set()).add(r.person_token));
    }
    return out;
  }

  /** The anonymised release of the three files (made once; the verifier test reads it too). */
  let anonymised: Promise<{ id: string; state: string; failure_reason: string | null }> | undefined;
  const anonymisedRelease = () =>
    (anonymised ??= runRelease(
      t,
      spec({
        tier: 'anonymised',
        legalBasis: 'none',
        datasets: DATASETS,
        recipients: [researcher.id],
        requestedBy: officer.id,
      }),
      officer,
    ));

  it('no class of (age band, area, sex, provider_code / la_code) has fewer than k persons; the manifest records the location levels', async () => {
    const rel = await anonymisedRelease();
    expect(rel).toMatchObject({ state: 'completed', failure_reason: null });
    const hes = parseCsvGz((await download(t, researcher.auth, rel.id, 'hes.csv.gz')).body);
    const sc = parseCsvGz((await download(t, researcher.auth, rel.id, 'social_care.csv.gz')).body);
    expect(hes.header).toEqual([
      'person_token',
      'age_band',
      'area',
      'sex',

      'admission_date',
      'provider_code',
    ]);
    expect(sc.header).toEqual(['person_token', 'age_band', 'area', 'sex', 'la_code', 'start_date']);
    for (const [key, members] of [...classes(hes.rows, 'provider_code'), ...classes(sc.rows, 'la_code')])
      expect(members.size, key).toBeGreaterThanOrEqual(10);

    // As held, 21 of the 200 HES persons are in provider classes of 5 or 6 (over the 5% cap of
    // 10): the provider is generalised to its region, and the 6 persons' North West episodes (a
    // class of 6, within the cap) are suppressed. Patient 1's Leeds episode stays: 201 - 6 rows.
    expect(new Set(hes.rows.map((r) => r.provider_code))).toEqual(new Set(['Yorkshire and The Humber']));
    expect(hes.rows).toHaveLength(195);
    // Social care: 10 / 5 / 5 by local authority (half the file in classes below k); all 20 are
    // in Yorkshire and The Humber.
    expect(sc.rows.map((r) => r.la_code)).toEqual(Array(20).fill('Yorkshire and The Humber'));

    const manifest = JSON.parse(
      (await download(t, researcher.auth, rel.id, 'manifest.json')).body.toString(),
    );
    expect(manifest.kAnonymity.levels).toEqual({
      age: 'five_year',
      // The finest rung of the area ladder (probe 33: never the district in the anonymised tier).
      area: 'postcode_area',
      ethnicity: 'category',
      provider_code: 'region',
      la_code: 'region',
    });
    expect(manifest.kAnonymity.quasiIdentifiers).toEqual(
      expect.arrayContaining(['age', 'sex', 'ethnicity', 'area', 'provider_code', 'la_code']),
    );
    // Staff see the exact figures: 6 HES persons lost a row (5 of them every row of the file).
    const { rows } = await t.sql.query(`SELECT excluded FROM releases WHERE id = $1`, [rel.id]);
    expect(rows[0].excluded.kAnonymity).toMatchObject({
      suppressedByFile: { hes: 6 },
      removedByFile: { hes: 5 },
      populationByFile: { gp: 200, hes: 200, social_care: 20 },
    });
  });

  it('the verifier rejects an anonymised file with a class below k on provider_code', async () => {
    const rel = await anonymisedRelease();
    expect(rel.state).toBe('completed');
    const anonymisedId = rel.id;
    const dir = mkdtempSync(path.join(tmpdir(), 'verify-loc-'));
    scratch.push(dir);
    cpSync(t.app.get(ReleaseEngine).dirOf(anonymisedId), dir, { recursive: true });
    // The good folder passes.
    await expect(verifyRelease(dir, { id: anonymisedId }, db, deps)).resolves.toMatchObject({
      verified: true,
    });
    // One episode's provider rewritten to a provider nobody else has: a class of one person on
    // provider_code. Checked as the engine calls the verifier (the producer's list of files, its
    // rows, bytes and hashes those of the corrupted file), so only the k-anonymity check can catch it.
    rmSync(path.join(dir, 'manifest.json'));
    const file = path.join(dir, 'hes.csv.gz');
    const lines = gunzipSync(readFileSync(file)).toString('utf8').split('\n');
    lines[1] = lines[1].replace(/,[^,]*$/, ',RQX');
    const bytes = gzipSync(Buffer.from(lines.join('\n')));
    writeFileSync(file, bytes);
    const { rows } = await t.sql.query(
      `SELECT name, rows::int AS rows, bytes::int AS bytes, sha256 FROM release_files
        WHERE release_id = $1 AND name <> 'manifest.json'`,
      [anonymisedId],
    );
    const files = rows.map((f) =>
      f.name === 'hes.csv.gz'
        ? { ...f, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }
        : f,
    );
    const err = await verifyRelease(dir, { id: anonymisedId, files }, db, deps).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(VerificationFailure);
    expect((err as Error).message).toMatch(/k-anonymity: hes.csv.gz: a class of fewer than k=10/);
  });

  it('providers as held where the small classes fit in the cap, a person with two episodes at one provider counted once; the pseudonymised tier releases them as held', async () => {
    const held = await runRelease(
      t,
      spec({
        tier: 'pseudonymised',
        legalBasis: 's251',
        datasets: [DATASETS[1]],
        recipients: [researcher.id],
        requestedBy: officer.id,
      }),
      officer,
    );
    const p = parseCsvGz((await download(t, researcher.auth, held.id, 'hes.csv.gz')).body);
    expect(new Set(p.rows.map((r) => r.provider_code))).toEqual(
      new Set(['RR8', 'RAE', 'RHQ', 'RXF', 'RWY', 'REM']),
    );
    // Five more persons at each of RXF, RWY and REM: those classes reach k as held. The five RHQ
    // persons get a second RHQ episode: ten rows, still five persons — a class below k, whose
    // pairs are suppressed (5 persons of 215, within the cap) while the other providers stay.
    const hes = await newLoad(t.sql, 'hes');
    await t.sql.query(
      `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id)
       SELECT (9200000000 + g)::text, DATE '1970-05-17', 'F', 'LS1 4AP', 'A', 'A81001', g::text
         FROM generate_series(201, 215) g`,
    );
    await t.sql.query(
      `INSERT INTO hes_episodes (epikey, nhs_number, birth_date, sex, postcode, admission_date, diagnosis_icd10, provider_code, load_id, patient_id, linkage_step)
       SELECT 'E' || p.nhs_number, p.nhs_number, p.birth_date, p.sex, p.postcode, DATE '2013-06-01', 'I63.9',
              (ARRAY['RXF', 'RWY', 'REM'])[1 + (p.nhs_number::bigint - 9200000201)::int / 5], $1::uuid, p.id, 1
         FROM patients p WHERE p.nhs_number::bigint > 9200000200
       UNION ALL
       SELECT 'F' || h.nhs_number, h.nhs_number, h.birth_date, h.sex, h.postcode, DATE '2014-03-01', 'I63.9', 'RHQ', $1::uuid, h.patient_id, 1
         FROM hes_episodes h WHERE h.provider_code = 'RHQ'`,
      [hes],
    );
    const rel = await runRelease(
      t,
      spec({
        tier: 'anonymised',
        legalBasis: 'none',
        datasets: [DATASETS[1]],
        recipients: [researcher.id],
        requestedBy: officer.id,
      }),
      officer,
    );
    expect(rel).toMatchObject({ state: 'completed', failure_reason: null });
    const a = parseCsvGz((await download(t, researcher.auth, rel.id, 'hes.csv.gz')).body);
    expect(new Set(a.rows.map((r) => r.provider_code))).toEqual(new Set(['RR8', 'RAE', 'RXF', 'RWY', 'REM']));
    // kᵐ-anonymity (issue #27) may take a rare (provider, admission period, diagnosis) item too:
    // within the cap, and counted on the release.
    const { rows: exact } = await t.sql.query(`SELECT excluded FROM releases WHERE id = $1`, [rel.id]);
    const kmRemoved: number = exact[0].excluded.kmAnonymity?.suppressedByFile.hes ?? 0;
    expect(kmRemoved).toBeLessThanOrEqual(Math.floor((201 + 5 + 15 - 10) * 0.05));
    expect(a.rows).toHaveLength(201 + 5 + 15 - 10 - kmRemoved);
    for (const [key, members] of classes(a.rows, 'provider_code'))
      expect(members.size, key).toBeGreaterThanOrEqual(10);
    const manifest = JSON.parse(
      (await download(t, researcher.auth, rel.id, 'manifest.json')).body.toString(),
    );
    expect(manifest.kAnonymity.levels).toMatchObject({ provider_code: 'as_held' });
    const { rows } = await t.sql.query(`SELECT excluded FROM releases WHERE id = $1`, [rel.id]);
    expect(rows[0].excluded.kAnonymity).toMatchObject({
      populationByFile: { hes: 215 },
      suppressedByFile: { hes: 5 },
      removedByFile: { hes: 5 },
    });
  });

  it('the catalogue classifies provider_code and la_code as quasi-identifiers and says what each tier makes of them', async () => {
    const res = await t.http.get('/api/datasets').set(researcher.auth).expect(200);
    const field = (dataset: string, name: string) =>
      res.body.datasets
        .find((d: { id: string }) => d.id === dataset)
        .fields.find((f: { name: string }) => f.name === name);
    for (const [dataset, name] of [
      ['hes', 'provider_code'],
      ['social_care', 'la_code'],
    ]) {
      expect(field(dataset, name).classification).toBe('quasi_identifier');
      expect(field(dataset, name).description).toMatch(/Anonymised: as held, its region or \*/);
    }
  });
});
