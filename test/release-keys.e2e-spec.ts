import { randomUUID } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { DataSource } from 'typeorm';
import { createTestApp, TestApp } from '@custodian/testing';
import { SourceKeysAndCodes1764000016000 } from '../migrations/1764000016000-source-keys-and-codes';
import { HES_HEADER, hes as hesRow, nhsNumber, SOCIAL_HEADER, social, toCsv } from './linkage-fixtures';
import {
  download,
  newLoad,
  otherOrganisationRecipient,
  parseCsvGz,
  runRelease,
  seedPractice,
  spec,
} from './release-helpers';

/**
 * Issue #19, SPEC §5 "Identifiers by tier": source row keys (`epikey`, `PERSON_ID`) are as held in
 * the identifiable tier, keyed per bid like `pseudo_id` in the pseudonymised tier, new per release
 * in the anonymised tier. No value of a pseudonymised or anonymised file may join it to another
 * bid's files.
 */
describe('source row keys by tier (#19)', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[] };
  let researcher: { id: string; auth: Record<string, string> };
  const PEOPLE = 60;
  const raw = new Set<string>();
  const personIds = new Set<string>();

  beforeAll(async () => {
    // Small shards: each shard keys its rows with its own copy of the key, and they must agree.
    t = await createTestApp({ RELEASE_SHARD_ROWS: '20', RELEASE_MAX_SHARDS: '4' });
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles };
    const r = await t.as('researcher');
    researcher = { id: r.user.id, auth: r.auth };
    await seedPractice(t.sql);
    const hes = await newLoad(t.sql, 'hes');
    const sc = await newLoad(t.sql, 'social_care');
    // One population, all alike on the quasi-identifiers (one class for k-anonymity), each with a
    // HES episode and a social-care record, linked.
    await t.sql.query(
      `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id)
       SELECT (9500000000 + g)::text, DATE '1960-01-01', 'F', 'LS1 4AP', 'A', 'A81001', g::text
         FROM generate_series(1, ${PEOPLE}) g`,
    );
    await t.sql.query(
      `INSERT INTO hes_episodes (epikey, nhs_number, birth_date, sex, postcode, admission_date, diagnosis_icd10, provider_code, load_id, patient_id, linkage_step)
       SELECT (300000000000 + (p.nhs_number::bigint - 9500000000))::text, p.nhs_number, p.birth_date, 'F', 'LS1 4AP',
              DATE '2013-06-01', 'I639', 'RR8', $1, p.id, 1
         FROM patients p`,
      [hes],
    );
    await t.sql.query(
      `INSERT INTO social_care_records (la_code, person_id, nhs_number, birth_date, sex, postcode, service_type, start_date, load_id, patient_id, linkage_step)
       SELECT 'E08000035', 'SCPERSON' || (p.nhs_number::bigint - 9500000000), p.nhs_number, p.birth_date, 'F', 'LS1 4AP',
              'home_care', DATE '2013-01-01', $1, p.id, 1
         FROM patients p`,
      [sc],
    );
    for (const r of (await t.sql.query(`SELECT epikey FROM hes_episodes`)).rows) raw.add(r.epikey);
    for (const r of (await t.sql.query(`SELECT person_id FROM social_care_records`)).rows)
      personIds.add(r.person_id);
    expect(raw.size).toBe(PEOPLE);
  });
  afterAll(() => t?.close());
  // Each test's releases under an organisation of their own: a record-level release is compared
  // with the last release of every other bid of its organisation (release-ledger.ts).
  beforeEach(async () => {
    researcher = await otherOrganisationRecipient(t);
  });

  const HES = [{ dataset: 'hes' as const, fields: ['nhs_number', 'epikey', 'admission_date'] }];

  async function hesRows(id: string) {
    const res = await download(t, researcher.auth, id, 'hes.csv.gz');
    expect(res.status).toBe(200);
    return parseCsvGz(res.body);
  }
  const keys = (f: { rows: Record<string, string>[] }) => new Set(f.rows.map((r) => r.epikey));
  const shared = (a: Set<string>, b: Set<string>) => [...a].filter((x) => b.has(x));

  it('identifiable: epikey as held', async () => {
    const rel = await runRelease(
      t,
      spec({ tier: 'identifiable', datasets: HES, recipients: [researcher.id], requestedBy: officer.id }),
      officer,
    );
    expect(rel.state).toBe('completed');
    const f = await hesRows(rel.id);
    expect(f.header).toEqual(['nhs_number', 'epikey', 'admission_date']);
    expect(keys(f)).toEqual(raw);
  });

  it('pseudonymised: epikey keyed per bid — the same in two releases of one bid, none shared between two bids, none raw', async () => {
    const s = spec({
      tier: 'pseudonymised',
      datasets: HES,
      recipients: [researcher.id],
      requestedBy: officer.id,
    });
    const a1 = await runRelease(t, s, officer);
    const a2 = await runRelease(t, { ...s }, officer);
    const b = await runRelease(t, { ...s, bidId: randomUUID() }, officer);
    for (const r of [a1, a2, b]) expect(r.state).toBe('completed');
    const [f1, f2, fb] = [await hesRows(a1.id), await hesRows(a2.id), await hesRows(b.id)];
    expect(f1.header).toEqual(['pseudo_id', 'epikey', 'admission_date']);
    expect(f1.rows).toHaveLength(PEOPLE);
    for (const r of [...f1.rows, ...fb.rows]) expect(r.epikey).toMatch(/^[0-9a-f]{64}$/);
    // Stable within the bid, row by row (the same person has the same keyed episode).
    const pairs = (f: typeof f1) => new Set(f.rows.map((r) => `${r.pseudo_id}|${r.epikey}`));
    expect(pairs(f2)).toEqual(pairs(f1));
    const { rows: shards } = await t.sql.query(
      `SELECT count(DISTINCT shard)::int AS n FROM release_shards WHERE release_id = $1`,
      [a1.id],
    );
    expect(shards[0].n).toBeGreaterThan(1);
    expect(keys(f1).size).toBe(PEOPLE);
    // Unlinkable across bids, and nothing raw.
    expect(shared(keys(f1), keys(fb))).toEqual([]);
    expect(shared(keys(f1), raw)).toEqual([]);
    expect(shared(keys(fb), raw)).toEqual([]);
    // Not the person key either (a keyed epikey never equals a pseudo_id).
    expect(shared(keys(f1), new Set(f1.rows.map((r) => r.pseudo_id)))).toEqual([]);
    const text = gunzipSync((await download(t, researcher.auth, a1.id, 'hes.csv.gz')).body).toString();
    for (const k of raw) expect(text).not.toContain(k);
  });

  it('anonymised: epikey new in every release, none raw', async () => {
    const s = spec({
      tier: 'anonymised',
      legalBasis: 'none',
      datasets: HES,
      recipients: [researcher.id],
      requestedBy: officer.id,
    });
    const a = await runRelease(t, s, officer);
    const b = await runRelease(t, { ...s }, officer);
    expect(a.state).toBe('completed');
    expect(b.state).toBe('completed');
    const [fa, fb] = [await hesRows(a.id), await hesRows(b.id)];
    expect(fa.header).toEqual(['person_token', 'epikey', 'admission_date']);
    expect(fa.rows).toHaveLength(PEOPLE);
    for (const r of [...fa.rows, ...fb.rows]) expect(r.epikey).toMatch(/^[0-9a-f]{32}$/);
    expect(keys(fa).size).toBe(PEOPLE);
    expect(shared(keys(fa), keys(fb))).toEqual([]);
    expect(shared(keys(fa), raw)).toEqual([]);
    expect(shared(keys(fa), new Set(fa.rows.map((r) => r.person_token)))).toEqual([]);
  });

  it('PERSON_ID is in no file of any tier (not in the catalogue)', async () => {
    for (const tier of ['identifiable', 'pseudonymised'] as const) {
      const { rows } = await t.sql.query(`SELECT name FROM catalog_fields WHERE dataset = 'social_care'`);
      const rel = await runRelease(
        t,
        spec({
          tier,
          datasets: [{ dataset: 'social_care', fields: rows.map((r) => r.name) }],
          recipients: [researcher.id],
          requestedBy: officer.id,
        }),
        officer,
      );
      expect(rel.state).toBe('completed');
      const text = gunzipSync(
        (await download(t, researcher.auth, rel.id, 'social_care.csv.gz')).body,
      ).toString();
      expect(text.split('\n').length).toBeGreaterThan(PEOPLE);
      for (const p of personIds) expect(text).not.toContain(p);
    }
  });

  it('free text and formulas uploaded in code fields never reach a release, not even in the identifiable tier (#19 item 2)', async () => {
    const dm = (await t.as('data_manager')).auth;
    const n = nhsNumber(520000001);
    const bad: string[] = [
      'stroke after fall at home',
      '=HYPERLINK("http://x.example","y")',
      '@SUM(A1)',
      'see notes',
    ];
    const post = (path: string, csv: string) =>
      t.http.post(`/api/sources/${path}`).set(dm).set('Content-Type', 'text/csv').send(csv).expect(201);
    const h = await post(
      'hes',
      toCsv(HES_HEADER, [
        hesRow('FT1', n, '1960-01-01', '2', 'LS1 4AP', { diag: bad[0] }),
        hesRow('FT2', n, '1960-01-01', '2', 'LS1 4AP', { opertn: bad[1] }),
        hesRow('FT3', n, '1960-01-01', '2', 'LS1 4AP', { procode: bad[2] }),
        hesRow('FT4', n, '1960-01-01', '2', 'LS1 4AP', { diag: 'J18.9' }),
      ]),
    );
    expect(h.body.rejected.map((r: { row: number }) => r.row)).toEqual([1, 2, 3]);
    const sc = await post(
      'social-care',
      toCsv(SOCIAL_HEADER, [
        social('E08000035', 'FT1', n, '1960-01-01', 'F', 'LS1 4AP', { service: bad[3] }),
        social('E08000035', 'FT2', n, '1960-01-01', 'F', 'LS1 4AP', { service: bad[1] }),
        social('E08000035', 'FT3', n, '1960-01-01', 'F', 'LS1 4AP', { service: 'Reablement' }),
      ]),
    );
    expect(sc.body.rejected.map((r: { row: number }) => r.row)).toEqual([1, 2]);
    // Held before the loaders checked formats (migration 1764000016000 left such values as they
    // were): a release gives them as empty, never as held (an audit of #19, 2026-12-06).
    await t.sql.query(
      `INSERT INTO hes_episodes (epikey, nhs_number, birth_date, sex, postcode, admission_date, diagnosis_icd10, procedure_opcs4, provider_code, load_id, patient_id)
       SELECT 'FT5', nhs_number, birth_date, sex, postcode, admission_date, 'fell dwn', 'op notes', 'ST ELSE', load_id, patient_id
         FROM hes_episodes WHERE epikey = 'FT4'`,
    );
    await t.sql.query(
      `INSERT INTO social_care_records (la_code, person_id, nhs_number, birth_date, sex, postcode, service_type, start_date, load_id, patient_id)
       SELECT 'LEEDS CCL', 'FT5', nhs_number, birth_date, sex, postcode, 'meals on wheels daily', start_date, load_id, patient_id
         FROM social_care_records WHERE person_id = 'FT3'`,
    );
    bad.push('fell dwn', 'op notes', 'ST ELSE', 'LEEDS CCL', 'meals on wheels');
    const fields = async (dataset: string) =>
      (await t.sql.query(`SELECT name FROM catalog_fields WHERE dataset = $1`, [dataset])).rows.map(
        (r) => r.name as string,
      );
    const rel = await runRelease(
      t,
      spec({
        tier: 'identifiable',
        datasets: [
          { dataset: 'hes', fields: await fields('hes') },
          { dataset: 'social_care', fields: await fields('social_care') },
        ],
        recipients: [researcher.id],
        requestedBy: officer.id,
      }),
      officer,
    );
    expect(rel.state).toBe('completed');
    const text = (name: string) =>
      download(t, researcher.auth, rel.id, name).then((r) => gunzipSync(r.body).toString());
    const [hesText, scText] = [await text('hes.csv.gz'), await text('social_care.csv.gz')];
    expect(hesText).toContain(',FT4,');
    expect(hesText).toContain(',FT5,'); // its row, with its free text left out
    expect(hesText).toContain('J18.9');
    expect(scText).toContain('reablement');
    for (const v of [...bad, 'HYPERLINK', 'stroke', 'notes']) {
      expect(hesText).not.toContain(v);
      expect(scText).not.toContain(v);
    }
    for (const k of ['FT1', 'FT2', 'FT3']) expect(hesText).not.toContain(`,${k},`);
  });

  it('migration 1764000016000 brings held rows to the stored forms: service types as codes, HES codes upper-case', async () => {
    const hes = await newLoad(t.sql, 'hes');
    const sc = await newLoad(t.sql, 'social_care');
    await t.sql.query(
      `INSERT INTO hes_episodes (epikey, sex, admission_date, diagnosis_icd10, procedure_opcs4, provider_code, load_id)
       VALUES ('MIG1', 'U', '2013-01-01', 'i63.9', 'w371', 'rr8', $1), ('MIG2', 'U', '2013-01-01', 'a note', NULL, NULL, $1)`,
      [hes],
    );
    await t.sql.query(
      `INSERT INTO social_care_records (la_code, person_id, sex, service_type, start_date, load_id)
       VALUES ('E08000035', 'MIG1', 'U', 'Home Care', '2013-01-01', $1), ('E08000035', 'MIG2', 'U', 'Child in Need', '2013-01-01', $1),
              ('E08000035', 'MIG3', 'U', 'lives alone', '2013-01-01', $1)`,
      [sc],
    );
    const qr = t.app.get(DataSource).createQueryRunner();
    try {
      await new SourceKeysAndCodes1764000016000().up(qr);
    } finally {
      await qr.release();
    }
    const { rows: h } = await t.sql.query(
      `SELECT epikey, diagnosis_icd10 AS d, procedure_opcs4 AS o, provider_code AS p FROM hes_episodes WHERE epikey LIKE 'MIG%' ORDER BY 1`,
    );
    expect(h).toEqual([
      { epikey: 'MIG1', d: 'I63.9', o: 'W371', p: 'RR8' },
      { epikey: 'MIG2', d: 'A NOTE', o: null, p: null },
    ]);
    const { rows: s } = await t.sql.query(
      `SELECT person_id, service_type FROM social_care_records WHERE person_id LIKE 'MIG%' ORDER BY 1`,
    );
    expect(s.map((r) => r.service_type)).toEqual(['home_care', 'child_in_need', 'lives alone']);
  });

  it('the catalogue and the data dictionary say what epikey becomes in each tier', async () => {
    const res = await t.http.get('/api/datasets').set(researcher.auth).expect(200);
    const hes = res.body.datasets.find((d: { id: string }) => d.id === 'hes');
    const epikey = hes.fields.find((f: { name: string }) => f.name === 'epikey');
    expect(epikey.description).toMatch(/identifiable[^.;]*as held/i);
    expect(epikey.description).toMatch(/pseudonymised[^.;]*bid/i);
    expect(epikey.description).toMatch(/anonymised[^.;]*release/i);

    const dictionary = async (tier: 'pseudonymised' | 'anonymised') => {
      const rel = await runRelease(
        t,
        spec({
          tier,
          legalBasis: tier === 'anonymised' ? 'none' : 's251',
          datasets: HES,
          recipients: [researcher.id],
          requestedBy: officer.id,
        }),
        officer,
      );
      expect(rel.state).toBe('completed');
      const csv: string = (await download(t, researcher.auth, rel.id, 'data_dictionary.csv')).body.toString();
      return csv.split('\n').find((l) => l.startsWith('hes.csv.gz,epikey,')) ?? '';
    };
    expect(await dictionary('pseudonymised')).toMatch(/HMAC[^\n]*bid/);
    expect(await dictionary('anonymised')).toMatch(/new in every release/);
  });
});
