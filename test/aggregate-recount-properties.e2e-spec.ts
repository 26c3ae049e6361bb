import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { Cohort } from '@custodian/bids';
import { createTestApp, TestApp } from '@custodian/testing';
import { ReleaseEngine } from '@custodian/release';
import { VerificationFailure, verifyRelease } from '../libs/release/src/verifier/verify-release';
import {
  aggregateCountMoved,
  newLoad,
  otherOrganisationRecipient,
  releaseRuns,
  runRelease,
  seedPractice,
  spec,
  verifierDeps,
} from './release-helpers';

/**
 * The verifier's recount of the aggregate table (SPEC §5 steps 2 and 5) over random populations,
 * through the real engine (few runs: each is a whole release): GP patients and persons known only
 * from unlinked HES and social-care rows, ages across the 90+ top-coding, unknown postcodes and
 * ethnicity, HES rows linked to their person, unlinked, or carrying one person's NHS number and
 * linked to another; Type 1 objectors (their rows counted nowhere) and Type 2 (counted); random
 * datasets, dimensions and cohort filters. The verifier, run by the engine in the release's snapshot
 * and again afterwards, accepts every table the engine releases; a count moved by one rounding step
 * (the engine's cell ledger moved with it) is refused.
 */
const RUNS = Number(process.env.PROPS_RUNS ?? 10);
const PRACTICES = ['A81001', 'A81002'] as const;
const YEARS = [2011, 2012, 2013];
const person = fc.record({
  // Most are GP patients; the rest are known only from their HES and social-care rows.
  held: fc.constantFrom(true, true, true, true, true, false),
  practice: fc.constantFrom(...PRACTICES),
  sex: fc.constantFrom('F', 'F', 'M', 'M', 'U'),
  age: fc.constantFrom(4, 37, 38, 42, 64, 89, 91, 97),
  postcode: fc.constantFrom('LS1 4AP', 'LS2 9JT', 'M1 1AE', 'B1 1AA', null),
  ethnicity: fc.constantFrom('A', 'H', 'M', 'Z', null),
  objection: fc.constantFrom(null, null, null, null, 'type1', 'type2'),
  gp: fc.array(fc.record({ year: fc.constantFrom(...YEARS), code: fc.constantFrom('1001', '1002') }), {
    maxLength: 2,
  }),
  hes: fc.array(
    fc.record({
      year: fc.constantFrom(...YEARS),
      diag: fc.constantFrom('I63.9', 'J18.9'),
      link: fc.constantFrom('own', 'own', 'unlinked', 'other'),
    }),
    { maxLength: 2 },
  ),
  social: fc.array(fc.record({ year: fc.constantFrom(...YEARS), link: fc.constantFrom('own', 'unlinked') }), {
    maxLength: 1,
  }),
});
const population = fc.array(person, { minLength: 60, maxLength: 220 });
const release = fc.record({
  datasets: fc.subarray(['gp', 'hes', 'social_care'] as const, { minLength: 1 }),
  dimensions: fc.subarray(['sex', 'age_band', 'ethnic_group', 'postcode_area', 'year', 'code'] as const, {
    minLength: 1,
    maxLength: 2,
  }),
  cohort: fc.constantFrom<Cohort>(
    {},
    {},
    { practices: ['A81001'] },
    { ageMin: 30, ageMax: 70 },
    { conditionCodes: ['I63.9'] },
    { conditionCodes: ['1001'] },
    { eventsFrom: '2012-01-01', eventsTo: '2012-12-31' },
    { postcodeAreas: ['ls'] },
  ),
});

describe('aggregate recount over random populations (property)', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[] };
  let db: DataSource;
  let deps: ReturnType<typeof verifierDeps>;

  beforeAll(async () => {
    // Tables of a few hundred persons: the minimum population is aggregate-minimum's subject.
    t = await createTestApp({ AGG_MIN_POPULATION: '1', AGG_MIN_POPULATION_MARGIN: '0' });
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles };
    db = t.app.get<DataSource>(getDataSourceToken());
    deps = verifierDeps(t);
    for (const p of PRACTICES) await seedPractice(t.sql, p);
  });
  afterAll(() => t?.close());

  async function load(people: Person[]): Promise<void> {
    await t.sql.query(
      `TRUNCATE gp_events, hes_episodes, social_care_records, objection_events, patients, source_loads RESTART IDENTITY CASCADE`,
    );
    const nhs = (i: number) => String(9_500_000_000 + i);
    const held = people.map((p, i) => ({ ...p, nhs: nhs(i) })).filter((p) => p.held);
    await t.sql.query(
      `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id)
       SELECT nhs, (current_date - make_interval(years => age, months => 3))::date, sex, postcode, ethnicity, practice, nhs
         FROM jsonb_to_recordset($1::jsonb) AS x(nhs text, age int, sex text, postcode text, ethnicity text, practice text)`,
      [JSON.stringify(held)],
    );
    const { rows } = await t.sql.query(`SELECT id::text, nhs_number::text AS nhs FROM patients ORDER BY id`);
    const idOf = new Map(rows.map((r) => [r.nhs as string, r.id as string]));
    const someone = (i: number) => rows[(i * 7) % rows.length]?.id ?? null;
    const gp = people.flatMap((p, i) =>
      p.held
        ? p.gp.map((e, j) => ({ pid: idOf.get(nhs(i)), rid: `${i}-${j}`, code: e.code, year: e.year }))
        : [],
    );
    await t.sql.query(
      `INSERT INTO gp_events (patient_id, practice_ods, resource_type, resource_id, code_system, code, event_date)
       SELECT x.pid, p.practice_ods, 'condition', x.rid, 'snomed', x.code, make_date(x.year, 5, 1)
         FROM jsonb_to_recordset($1::jsonb) AS x(pid bigint, rid text, code text, year int) JOIN patients p ON p.id = x.pid`,
      [JSON.stringify(gp)],
    );
    // A source row carries its person's NHS number and demographics; linked to them (held), to
    // someone else, or to nobody.
    const linkOf = (p: Person, i: number, link: string) =>
      link === 'other' ? someone(i) : link === 'own' && p.held ? idOf.get(nhs(i)) : null;
    const birth = (p: Person) => `${new Date().getUTCFullYear() - p.age - 1}-09-15`;
    const hes = people.flatMap((p, i) =>
      p.hes.map((h, j) => ({
        key: `E${i}x${j}`,
        nhs: nhs(i),
        birth: birth(p),
        sex: p.sex,
        postcode: p.postcode,
        year: h.year,
        diag: h.diag,
        pid: linkOf(p, i, h.link),
      })),
    );
    const hesLoad = await newLoad(t.sql, 'hes');
    await t.sql.query(
      `INSERT INTO hes_episodes (epikey, nhs_number, birth_date, sex, postcode, admission_date, diagnosis_icd10, provider_code, load_id, patient_id, linkage_step)
       SELECT key, nhs, birth::date, sex, postcode, make_date(year, 6, 1), diag, 'RR8', $2, pid, CASE WHEN pid IS NULL THEN NULL ELSE 1 END
         FROM jsonb_to_recordset($1::jsonb) AS x(key text, nhs text, birth text, sex text, postcode text, year int, diag text, pid bigint)`,
      [JSON.stringify(hes), hesLoad],
    );
    const social = people.flatMap((p, i) =>
      p.social.map((s, j) => ({
        person: `P${i}x${j}`,
        nhs: nhs(i),
        birth: birth(p),
        sex: p.sex,
        postcode: p.postcode,
        year: s.year,
        pid: linkOf(p, i, s.link),
      })),
    );
    const scLoad = await newLoad(t.sql, 'social_care');
    await t.sql.query(
      `INSERT INTO social_care_records (la_code, person_id, nhs_number, birth_date, sex, postcode, service_type, start_date, load_id, patient_id, linkage_step)
       SELECT 'E08000035', person, nhs, birth::date, sex, postcode, 'home_care', make_date(year, 2, 1), $2, pid, CASE WHEN pid IS NULL THEN NULL ELSE 2 END
         FROM jsonb_to_recordset($1::jsonb) AS x(person text, nhs text, birth text, sex text, postcode text, year int, pid bigint)`,
      [JSON.stringify(social), scLoad],
    );
    const objectors = people.flatMap((p, i) => (p.objection ? [{ nhs: nhs(i), type: p.objection }] : []));
    await t.sql.query(
      `INSERT INTO objection_events (nhs_number, type, action, effective_on, source)
       SELECT nhs, type, 'register', DATE '2014-01-01', 'api' FROM jsonb_to_recordset($1::jsonb) AS x(nhs text, type text)`,
      [JSON.stringify(objectors)],
    );
  }

  it('accepts every table the engine releases, and refuses one count moved by a rounding step', async () => {
    const seen = { released: 0, shownCounts: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(population, release, async (people, r) => {
        await load(people);
        const researcher = await otherOrganisationRecipient(t);
        const rel = await runRelease(
          t,
          spec({
            tier: 'aggregate',
            legalBasis: 'none',
            datasets: r.datasets.map((dataset) => ({ dataset, fields: [] })),
            aggregation: { dimensions: [...r.dimensions] },
            cohort: r.cohort,
            recipients: [researcher.id],
            requestedBy: officer.id,
          }),
          officer,
        );
        if (rel.state === 'failed') {
          // Otherwise an empty cohort, never a disagreement between the engine and the verifier.
          expect(rel.failure_reason).toMatch(/^AGG_POPULATION_TOO_SMALL: /);
          seen.refused++;
          return;
        }
        expect(rel.state).toBe('completed');
        seen.released++;
        const dir = t.app.get(ReleaseEngine).dirOf(rel.id);
        const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
        expect(manifest.verification.checks.join('\n')).toMatch(/^aggregate recount: /m);
        await verifyRelease(dir, { id: rel.id }, db, deps);
        // One shown count moved by a rounding step, in the file and in the engine's cell ledger.
        const { rows } = await t.sql.query(
          `SELECT i FROM release_aggregate_cells WHERE release_id = $1 AND shown ORDER BY i LIMIT 1`,
          [rel.id],
        );
        if (!rows.length) return;
        seen.shownCounts++;
        const moved = await aggregateCountMoved(t, rel.id, rows[0].i + 1, 5);
        try {
          const err = await verifyRelease(moved.dir, { id: rel.id, files: moved.files }, db, deps).catch(
            (e: unknown) => e,
          );
          expect(err).toBeInstanceOf(VerificationFailure);
          expect((err as VerificationFailure).message).toMatch(
            /a cell's count differs from the verifier's recount$/,
          );
        } finally {
          await moved.undo();
          rmSync(moved.dir, { recursive: true, force: true });
        }
      }),
      releaseRuns(RUNS),
    );
    expect(seen.released).toBeGreaterThan(0);
    expect(seen.shownCounts).toBeGreaterThan(0);
  }, 600_000);
});

type Person = typeof person extends fc.Arbitrary<infer T> ? T : never;
