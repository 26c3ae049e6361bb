import fc from 'fast-check';
import { createTestApp, TestApp } from '@custodian/testing';
import { ReleaseEngine } from '@custodian/release';
import { ReleaseKeys } from '../libs/release/src/keys';
import { ageAt, ageKey, areaOf, ethnicGroupOf, regionOf } from '../libs/release/src/release-sql';
import { ETHNIC_GROUP, POSTCODE_AREA_REGION } from '../libs/release/src/reference-data';
import { POSTCODE } from '@custodian/core/postcode';
import { kmFinding } from './km-check';
import HES_ONLY_AND_STAR from './fixtures/release-properties/hes-only-and-star.json';
import {
  download,
  ensureActiveBid,
  hmacHex,
  newLoad,
  parseCsvGz,
  releaseRuns,
  runRelease,
  seedPractice,
  spec,
  otherOrganisationRecipient,
} from './release-helpers';

/**
 * Property tests of the privacy rules over random populations, objection histories and bids, run
 * through the real engine on PostgreSQL (few runs each: every run is a whole release).
 */
const person = fc.record({
  gp: fc.boolean(),
  sex: fc.constantFrom('M', 'F'),
  birthYear: fc.integer({ min: 1930, max: 2005 }),
  area: fc.constantFrom('LS1 4AP', 'LS2 9JT', 'M1 1AE', 'BD1 1AA', 'EC1A 1BB'),
  eth: fc.constantFrom('A', 'B', 'H', 'M', 'Z'),
  hes: fc.constantFrom('none', 'linked', 'unlinked'),
  // the HES row's provider: two Yorkshire trusts, one North West, one South East, or none
  provider: fc.constantFrom('RR8', 'RAE', 'REM', 'RTH', null),
  social: fc.constantFrom('none', 'linked', 'unlinked'),
  objections: fc.array(
    fc.record({
      type: fc.constantFrom('type1', 'type2'),
      action: fc.constantFrom('register', 'withdraw'),
      day: fc.integer({ min: 1, max: 28 }),
    }),
    { maxLength: 3 },
  ),
});
type Person = typeof person extends fc.Arbitrary<infer T> ? T : never;

const nhsOf = (i: number) => String(9_100_000_000 + i);

async function load(t: TestApp, people: Person[]): Promise<void> {
  await t.sql.query(
    `TRUNCATE gp_events, patients, hes_episodes, social_care_records, objection_events, source_loads RESTART IDENTITY CASCADE`,
  );
  const hes = await newLoad(t.sql, 'hes');
  const sc = await newLoad(t.sql, 'social_care');
  const rows = people.map((p, i) => ({ ...p, nhs: nhsOf(i), birth: `${p.birthYear}-06-15` }));
  await t.sql.query(
    `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id)
     SELECT nhs, birth::date, sex, area, eth, 'A81001', nhs FROM jsonb_to_recordset($1::jsonb)
       AS x(nhs text, birth text, sex text, area text, eth text, gp boolean) WHERE gp`,
    [JSON.stringify(rows)],
  );
  await t.sql.query(
    `INSERT INTO gp_events (patient_id, practice_ods, resource_type, resource_id, code_system, code, event_date)
     SELECT p.id, p.practice_ods, 'condition', 'r' || g, 'snomed', CASE WHEN g = 1 THEN '22298006' ELSE '38341003' END, DATE '2012-01-01' + g * 40
       FROM patients p CROSS JOIN generate_series(1, 2) g`,
  );
  await t.sql.query(
    `INSERT INTO hes_episodes (epikey, nhs_number, sex, admission_date, diagnosis_icd10, provider_code, load_id, patient_id, linkage_step)
     SELECT 'E' || x.nhs, CASE WHEN x.hes = 'unlinked' OR p.id IS NULL THEN x.nhs END, x.sex, DATE '2013-03-01', 'I63.9', x.provider, $2,
            CASE WHEN x.hes = 'linked' THEN p.id END, CASE WHEN x.hes = 'linked' AND p.id IS NOT NULL THEN 6 END
       FROM jsonb_to_recordset($1::jsonb) AS x(nhs text, sex text, hes text, provider text)
       LEFT JOIN patients p ON p.nhs_number = x.nhs
      WHERE x.hes <> 'none'`,
    [JSON.stringify(rows), hes],
  );
  await t.sql.query(
    `INSERT INTO social_care_records (la_code, person_id, nhs_number, sex, service_type, start_date, load_id, patient_id, linkage_step)
     SELECT 'E08000035', 'S' || x.nhs, CASE WHEN x.social = 'unlinked' OR p.id IS NULL THEN x.nhs END, x.sex, 'home_care', DATE '2013-04-01', $2,
            CASE WHEN x.social = 'linked' THEN p.id END, CASE WHEN x.social = 'linked' AND p.id IS NOT NULL THEN 5 END
       FROM jsonb_to_recordset($1::jsonb) AS x(nhs text, sex text, social text)
       LEFT JOIN patients p ON p.nhs_number = x.nhs
      WHERE x.social <> 'none'`,
    [JSON.stringify(rows), sc],
  );
  const events = rows.flatMap((p) =>
    p.objections.map((o) => ({ nhs: p.nhs, ...o, on: `2014-02-${String(o.day).padStart(2, '0')}` })),
  );
  await t.sql.query(
    `INSERT INTO objection_events (nhs_number, type, action, effective_on, source)
     SELECT x.nhs, x.type, x.action, x.on_::date, 'api'
       FROM ROWS FROM (jsonb_to_recordset($1::jsonb) AS (nhs text, type text, action text, "on" text))
            WITH ORDINALITY AS x(nhs, type, action, on_, ord)
      ORDER BY x.ord`,
    [JSON.stringify(events)],
  );
}

/**
 * Active objections computed independently (SPEC §2): per type, the latest instant wins; on an exact
 * tie the objection beats the withdrawal. Entries here carry a date only, so entries of one day
 * share their instant (midnight UTC).
 */
function active(p: Person, type: 'type1' | 'type2'): boolean {
  const mine = p.objections.filter((o) => o.type === type);
  if (!mine.length) return false;
  const last = Math.max(...mine.map((o) => o.day));
  return mine.some((o) => o.day === last && o.action === 'register');
}

describe('release privacy properties', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[] };
  let researcher: { id: string; auth: Record<string, string> };
  beforeAll(async () => {
    // Cell rules over random small populations; the table minimum is tested in aggregate-minimum.
    t = await createTestApp({ AGG_MIN_POPULATION: '1', AGG_MIN_POPULATION_MARGIN: '0' });
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles };
    const r = await t.as('researcher');
    researcher = { id: r.user.id, auth: r.auth };
    await seedPractice(t.sql);
  });
  afterAll(() => t?.close());

  const ALL = [
    { dataset: 'gp' as const, fields: ['nhs_number', 'code', 'event_date'] },
    { dataset: 'hes' as const, fields: ['nhs_number', 'admission_date'] },
    { dataset: 'social_care' as const, fields: ['nhs_number', 'start_date'] },
  ];

  it('no record-level output contains an objector, unless the legal basis exempts it', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(person, { minLength: 1, maxLength: 25 }),
        fc.constantFrom('identifiable', 'pseudonymised'),
        fc.constantFrom('s251', 'statutory', 'public_health_emergency', 'consent'),
        async (people, tier, legalBasis) => {
          await load(t, people);
          // A world of its own: releases are compared with other bids of their organisation.
          researcher = await otherOrganisationRecipient(t);
          const s = spec({
            tier,
            legalBasis,
            datasets: ALL,
            recipients: [researcher.id],
            requestedBy: officer.id,
          });
          const consenting = people.map((_, i) => i).filter((i) => i % 2 === 0);
          await ensureActiveBid(t, s);
          if (legalBasis === 'consent')
            await t.sql.query(
              `INSERT INTO bid_cohort_members (bid_id, nhs_number) SELECT $1, unnest($2::text[])`,
              [s.bidId, consenting.map(nhsOf)],
            );
          const rel = await runRelease(t, s, officer);
          expect(rel.state).toBe('completed');
          const key =
            tier === 'pseudonymised'
              ? await t.app.get(ReleaseKeys).bidKey(t.app.get(ReleaseEngine)['db'], s.bidId)
              : undefined;
          const out = new Set<string>();
          for (const name of ['gp.csv.gz', 'hes.csv.gz', 'social_care.csv.gz']) {
            const f = parseCsvGz((await download(t, researcher.auth, rel.id, name)).body);
            for (const r of f.rows) out.add(r.nhs_number ?? r.pseudo_id);
          }
          const idOf = (i: number) => (key ? hmacHex(key, nhsOf(i)) : nhsOf(i));
          people.forEach((p, i) => {
            const mayAppear =
              !active(p, 'type1') &&
              (legalBasis === 'consent'
                ? consenting.includes(i)
                : legalBasis === 's251'
                  ? !active(p, 'type2')
                  : true);
            const hasRows = p.gp || p.hes !== 'none' || p.social !== 'none';
            if (!mayAppear) expect(out.has(idOf(i))).toBe(false);
            else expect(out.has(idOf(i))).toBe(hasRows);
          });
        },
      ),
      releaseRuns(8),
    );
  }, 120_000);

  it('every anonymised equivalence class has at least k people (or the release fails, saying why)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(person, { minLength: 40, maxLength: 160 }), async (people) => {
        await load(t, people);
        researcher = await otherOrganisationRecipient(t);
        const rel = await runRelease(
          t,
          spec({
            tier: 'anonymised',
            legalBasis: 'none',
            datasets: [
              {
                dataset: 'gp',
                fields: ['nhs_number', 'date_of_birth', 'postcode', 'sex', 'ethnicity', 'event_date'],
              },
              {
                dataset: 'hes',
                fields: ['nhs_number', 'date_of_birth', 'sex', 'admission_date', 'provider_code'],
              },
            ],
            recipients: [researcher.id],
            requestedBy: officer.id,
          }),
          officer,
        );
        if (rel.state === 'failed') {
          expect(rel.failure_reason).toMatch(
            /^(K_ANONYMITY_UNACHIEVABLE: k-anonymity with k=10 would suppress|KM_ANONYMITY_UNACHIEVABLE: kᵐ-anonymity with k=10, m=2 would remove)/,
          );
          return;
        }
        const gp = parseCsvGz((await download(t, researcher.auth, rel.id, 'gp.csv.gz')).body);
        expect(gp.header).toEqual(['person_token', 'age_band', 'area', 'sex', 'ethnicity', 'event_date']);
        const hes = parseCsvGz((await download(t, researcher.auth, rel.id, 'hes.csv.gz')).body);
        expect(hes.header).toEqual(['person_token', 'age_band', 'sex', 'admission_date', 'provider_code']);
        const classes = new Map<string, Set<string>>();
        for (const r of gp.rows) {
          const k = `${r.age_band}|${r.area}|${r.sex}|${r.ethnicity}`;
          classes.set(k, (classes.get(k) ?? new Set()).add(r.person_token));
          expect(r.event_date).toMatch(/^(\d{4}-\d{2}|\d{4}|\*)$/);
          expect(r.person_token).toMatch(/^[0-9a-f]{32}$/);
        }
        for (const r of hes.rows) {
          // the provider is a quasi-identifier too (issue #19): a class per person and provider
          const k = `hes|${r.age_band}|${r.sex}|${r.provider_code}`;
          classes.set(k, (classes.get(k) ?? new Set()).add(r.person_token));
          expect(r.admission_date).toMatch(/^(\d{4}-\d{2}|\d{4}|\*)$/);
        }
        for (const members of classes.values()) expect(members.size).toBeGreaterThanOrEqual(10);
        // Person tokens are per release: no NHS number, and the manifest records k and the levels.
        const manifest = JSON.parse(
          (await download(t, researcher.auth, rel.id, 'manifest.json')).body.toString(),
        );
        expect(manifest.kAnonymity).toMatchObject({ k: 10 });
        // The manifest's counts of persons follow the aggregate rule (`*` for 1-7, else multiples
        // of 5); the exact ones, on the release for staff, keep every file within 5% of its persons.
        const k = manifest.kAnonymity;
        for (const n of [k.suppressed, k.population, ...Object.values(k.suppressedByFile)])
          expect(n === '*' || (typeof n === 'number' && n % 5 === 0)).toBe(true);
        const { rows } = await t.sql.query(`SELECT excluded FROM releases WHERE id = $1`, [rel.id]);
        const exact = rows[0].excluded.kAnonymity;
        for (const [file, pop] of Object.entries(exact.populationByFile as Record<string, number>))
          expect(exact.suppressedByFile[file] ?? 0).toBeLessThanOrEqual(Math.floor(pop * 0.05));
      }),
      {
        ...releaseRuns(6),
        // Found by this property (seed -1831814345): persons with a hospital episode and no GP
        // record show no area or ethnicity, the others' are released as `*`. The verifier counted
        // them as two classes where the engine had one, and failed a good release (kᵐ-anonymity:
        // "1 set … fewer than k"); both now take `*` and a column not shown as the same.
        examples: [[HES_ONLY_AND_STAR]],
      },
    );
  }, 120_000);

  it('the integer age keys that count classes partition people exactly as the released age bands do (unknown ages included)', async () => {
    // The small-class suppression joins classes by these keys with `=`: a NULL key (unknown age)
    // would never match, and such a class smaller than k would be released. Keys must never be NULL.
    const a5 = fc.option(
      fc.integer({ min: -2, max: 24 }).map((n) => n * 5),
      { nil: null },
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 3 }), a5, a5, async (lvl, x, y) => {
        const { rows } = await t.sql.query(
          `SELECT ${ageKey('$1::int', '$2::int')} AS kx, ${ageKey('$1::int', '$3::int')} AS ky,
                  ${ageAt('$1::int', '$2::int')} AS bx, ${ageAt('$1::int', '$3::int')} AS by`,
          [lvl, x, y],
        );
        const r = rows[0];
        expect(r.kx).not.toBeNull();
        expect(r.ky).not.toBeNull();
        expect(r.kx === r.ky).toBe(r.bx === r.by);
      }),
      { numRuns: 300 },
    );
  });

  it("the area, region and ethnic group derived from the working set are the postcode's and the category's", async () => {
    // The working set keeps the district (outward code) and the category only; the ladders' upper
    // rungs are derived in SQL. Over any normalised postcode (ZZ99 pseudo-postcodes and unlisted
    // areas included) and any category (missing and unlisted included) they must be what the
    // reference data says of the postcode itself.
    const upper = (min: number, max: number) =>
      fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'), minLength: min, maxLength: max });
    const digit = fc.integer({ min: 0, max: 9 }).map(String);
    const listedArea = fc.constantFrom(...Object.keys(POSTCODE_AREA_REGION), 'ZZ');
    const postcode = fc
      .tuple(
        fc.oneof(listedArea, upper(1, 2)),
        digit,
        fc.option(fc.oneof(digit, upper(1, 1)), { nil: '' }),
        digit,
        upper(2, 2),
      )
      .map(([area, d, extra, d2, tail]) => `${area}${d}${extra} ${d2}${tail}`)
      .filter((p) => POSTCODE.test(p));
    const category = fc.option(fc.oneof(fc.constantFrom(...Object.keys(ETHNIC_GROUP)), upper(1, 1)), {
      nil: null,
    });
    await fc.assert(
      fc.asyncProperty(fc.option(postcode, { nil: null }), category, async (pc, eth) => {
        const { rows } = await t.sql.query(
          `SELECT ${areaOf('d')} AS area, ${regionOf(areaOf('d'))} AS region, ${ethnicGroupOf("coalesce($2::char(1), 'Z')")} AS grp
             FROM (SELECT CASE WHEN $1::varchar IS NULL THEN 'unknown' ELSE left(replace($1::varchar, ' ', ''), -3) END AS d) x`,
          [pc, eth],
        );
        const area = pc === null ? 'unknown' : /^[A-Z]+/.exec(pc)![0];
        expect(rows[0].area).toBe(area);
        expect(rows[0].region).toBe(POSTCODE_AREA_REGION[area] ?? 'unknown');
        expect(rows[0].grp).toBe((eth !== null && ETHNIC_GROUP[eth]) || 'Not stated');
      }),
      { numRuns: 300 },
    );
  });

  it('no aggregate cell shows 1-7 and every shown count is a multiple of 5', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(person, { minLength: 1, maxLength: 120 }),
        fc.subarray(['sex', 'age_band', 'ethnic_group', 'postcode_area', 'year', 'code'] as const, {
          minLength: 1,
          maxLength: 3,
        }),
        async (people, dimensions) => {
          await load(t, people);
          // Each random table to its own organisation (the differencing guard, #25, compares one
          // organisation's tables with each other).
          const researcher = await otherOrganisationRecipient(t);
          const rel = await runRelease(
            t,
            spec({
              tier: 'aggregate',
              legalBasis: 'none',
              datasets: [
                { dataset: 'gp', fields: ['code'] },
                { dataset: 'hes', fields: ['diagnosis_icd10'] },
              ],
              aggregation: { dimensions: [...dimensions] },
              recipients: [researcher.id],
              requestedBy: officer.id,
            }),
            officer,
          );
          // With nobody counted, the table is refused (AGG_MIN_POPULATION is 1 here): an empty table
          // against a refused one would tell whether a cohort holds anyone.
          if (rel.state === 'failed') {
            expect(rel.failure_reason).toMatch(/^AGG_POPULATION_TOO_SMALL/);
            return;
          }
          expect(rel.state).toBe('completed');
          const agg = parseCsvGz((await download(t, researcher.auth, rel.id, 'aggregate.csv.gz')).body);
          expect(agg.header).toEqual([...dimensions, 'patients']);
          for (const r of agg.rows) {
            if (r.patients === '*') continue;
            const n = Number(r.patients);
            expect(n % 5).toBe(0);
            expect(n >= 1 && n <= 7).toBe(false);
          }
        },
      ),
      releaseRuns(8),
    );
  }, 120_000);
  it('kᵐ-anonymity: no set of at most m=2 event items of a person, within their class, is carried by fewer than k persons (or the release fails, saying why)', async () => {
    const events = fc.array(
      fc.record({
        code: fc.constantFrom(
          'H33..',
          'H330.',
          'G30..',
          'G301.',
          'C10..',
          '22298006',
          '44054006',
          '38341003',
        ),
        month: fc.integer({ min: 0, max: 35 }),
      }),
      { maxLength: 5 },
    );
    const diag = fc.constantFrom('I63.9', 'I21.9', 'J18.9', 'E11.9', 'C50.9', 'S72.0');
    await fc.assert(
      fc.asyncProperty(
        // Persons without objections (those are the other properties'), most with a HES episode; a
        // person with an episode may have no GP record (a class apart: no area shown of them).
        fc.array(
          fc.record({
            p: person.map((p): Person => ({
              ...p,
              gp: p.gp || p.hes === 'none',
              objections: [],
              hes: p.hes === 'none' ? 'none' : 'linked',
            })),
            events,
            diag,
          }),
          { minLength: 60, maxLength: 160 },
        ),
        async (people) => {
          await load(
            t,
            people.map((x) => x.p),
          );
          const rows = people.flatMap((x, i) =>
            x.events.map((e) => ({
              nhs: nhsOf(i),
              code: e.code,
              system: /^\d+$/.test(e.code) ? 'snomed' : 'readv2',
              date: `${2012 + Math.floor(e.month / 12)}-${String((e.month % 12) + 1).padStart(2, '0')}-15`,
            })),
          );
          await t.sql.query(
            `INSERT INTO gp_events (patient_id, practice_ods, resource_type, resource_id, code_system, code, event_date)
             SELECT p.id, p.practice_ods, 'condition', 'k' || x.ord, x.system, x.code, x.date::date
               FROM ROWS FROM (jsonb_to_recordset($1::jsonb) AS (nhs text, code text, system text, date text))
                    WITH ORDINALITY AS x(nhs, code, system, date, ord)
               JOIN patients p ON p.nhs_number = x.nhs`,
            [JSON.stringify(rows)],
          );
          await t.sql.query(
            `UPDATE hes_episodes h SET diagnosis_icd10 = x.diag,
                    admission_date = DATE '2013-01-15' + (x.i * 37 % 700)
               FROM jsonb_to_recordset($1::jsonb) AS x(nhs text, diag text, i int)
              WHERE h.epikey = 'E' || x.nhs`,
            [JSON.stringify(people.map((x, i) => ({ nhs: nhsOf(i), diag: x.diag, i })))],
          );
          const rel = await runRelease(
            t,
            spec({
              tier: 'anonymised',
              legalBasis: 'none',
              datasets: [
                {
                  dataset: 'gp',
                  fields: [
                    'nhs_number',
                    'date_of_birth',
                    'sex',
                    'postcode',
                    'code_system',
                    'code',
                    'event_date',
                  ],
                },
                { dataset: 'hes', fields: ['nhs_number', 'sex', 'admission_date', 'diagnosis_icd10'] },
              ],
              recipients: [researcher.id],
              requestedBy: officer.id,
            }),
            officer,
          );
          if (rel.state === 'failed') {
            expect(rel.failure_reason).toMatch(/^(K_ANONYMITY_UNACHIEVABLE|KM_ANONYMITY_UNACHIEVABLE): /);
            return;
          }
          const gp = parseCsvGz((await download(t, researcher.auth, rel.id, 'gp.csv.gz')).body);
          const hes = parseCsvGz((await download(t, researcher.auth, rel.id, 'hes.csv.gz')).body);
          expect(kmFinding({ gp, hes }, 10, 2).exposed).toBe(0);
          // Exact figures (staff): each file's removed rows within the 5% cap.
          const { rows: r } = await t.sql.query(`SELECT excluded FROM releases WHERE id = $1`, [rel.id]);
          const km = r[0].excluded.kmAnonymity;
          expect(km).toMatchObject({ k: 10, m: 2 });
          for (const [file, n] of Object.entries(km.rowsByFile as Record<string, number>))
            expect(km.suppressedByFile[file] ?? 0).toBeLessThanOrEqual(Math.floor(n * 0.05));
          // The verifier audited the files' suppression, the persons kᵐ emptied expected absent (an
          // honest release is never refused by it: a false alarm fails the release, above).
          const { rows: m } = await t.sql.query(
            `SELECT manifest -> 'verification' -> 'checks' AS checks FROM releases WHERE id = $1`,
            [rel.id],
          );
          expect((m[0].checks as string[]).join('\n')).toMatch(/suppression audited/);
        },
      ),
      releaseRuns(6),
    );
  }, 180_000);
});
