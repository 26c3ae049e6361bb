import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { createTestApp, TestApp } from '@custodian/testing';
import { ReleaseEngine } from '@custodian/release';
import { VerificationFailure, verifyRelease } from '../libs/release/src/verifier/verify-release';
import {
  addHes,
  download,
  newLoad,
  parseCsvGz,
  runRelease,
  seedPractice,
  spec,
  verifierDeps,
} from './release-helpers';

/**
 * Probe 27 (issue #27, SPEC §5 step 5: kᵐ-anonymity over each person's events in the anonymised
 * tier). The GP `value` column (an observation's value and unit) is released as held in the
 * anonymised tier, and is part of neither the engine's kᵐ items (`KM_ITEM_FIELDS`) nor the
 * verifier's (`EVENT_ITEM_COLUMNS`). An attacker who knows a person's demographics and one of
 * their events — a weight taken at the practice in a given month — singles them out by the value,
 * and two anonymised releases join person to person on it.
 */
describe('probe 27: an observation value in the anonymised tier is a quasi-identifier', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[] };
  let researcher: { id: string; auth: Record<string, string> };
  const ODS = 'K90271';
  const PERSONS = 60;
  const K = 10;

  beforeAll(async () => {
    t = await createTestApp();
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles };
    const r = await t.as('researcher');
    researcher = { id: r.user.id, auth: r.auth };
    await seedPractice(t.sql, ODS);
    // One demographic class of 60; each person has the same observation (body weight) in the same
    // month — an item all 60 share, so kᵐ-anonymity keeps it as it is — with their own value.
    await t.sql.query(
      `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id)
       SELECT (9527000000 + g)::text, DATE '1970-05-17', 'F', 'LS1 4AP', 'A', $1, g::text
         FROM generate_series(1, $2::int) g`,
      [ODS, PERSONS],
    );
    await t.sql.query(
      `INSERT INTO gp_events (patient_id, practice_ods, resource_type, resource_id, code_system, code, event_date, value)
       SELECT id, practice_ods, 'observation', 'w' || id, 'snomed', '27113001', DATE '2012-03-04',
              (60 + row_number() OVER (ORDER BY nhs_number))::text || '.4 kg'
         FROM patients WHERE practice_ods = $1`,
      [ODS],
    );
  });
  afterAll(() => t?.close());

  const release = () =>
    runRelease(
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
              'postcode',
              'sex',
              'ethnicity',
              'code',
              'event_date',
              'value',
            ],
          },
        ],
        cohort: { practices: [ODS] },
        recipients: [researcher.id],
        requestedBy: officer.id,
      }),
      officer,
    );
  const gpFile = async (id: string) => parseCsvGz((await download(t, researcher.auth, id, 'gp.csv.gz')).body);
  const event = (r: Record<string, string>) =>
    [r.age_band, r.area, r.sex, r.ethnicity, r.code, r.event_date, r.value].join('|');

  it('no person is singled out by their demographics and one known event (its value included), and two releases do not join person to person', async () => {
    const a = await release();
    expect(a.failure_reason).toBeNull(); // the verifier passed it
    const fa = await gpFile(a.id);
    expect(fa.rows.length).toBeGreaterThan(PERSONS * 0.9);

    // Persons carried by fewer than k persons of their class on one event as the file shows it.
    const carriers = new Map<string, Set<string>>();
    for (const r of fa.rows) {
      const s = carriers.get(event(r)) ?? new Set<string>();
      s.add(r.person_token);
      carriers.set(event(r), s);
    }
    const exposed = new Set<string>();
    for (const s of carriers.values()) if (s.size < K) for (const p of s) exposed.add(p);
    // Today: all 60 — each weight is its owner's alone (`…|27113001|2012-03|61.4 kg`).
    expect(exposed.size).toBe(0);

    // A second release of the same bid: the tokens are new, the values are not.
    const b = await release();
    expect(b.failure_reason).toBeNull();
    const fb = await gpFile(b.id);
    const unique = (f: { rows: Record<string, string>[] }) => {
      const n = new Map<string, number>();
      for (const r of f.rows) n.set(event(r), (n.get(event(r)) ?? 0) + 1);
      return n;
    };
    const ua = unique(fa);
    const ub = unique(fb);
    const joined = [...ua.entries()].filter(([e, n]) => n === 1 && ub.get(e) === 1).length;
    expect(joined).toBe(0);
    // What the anonymised tier shows of a value: nothing (neither an item of kᵐ-anonymity nor generalised).
    expect(new Set(fa.rows.map((r) => r.value))).toEqual(new Set(['*']));
  });

  it('the verifier refuses an anonymised file whose value column is not withheld', async () => {
    const rel = await release();
    expect(rel.failure_reason).toBeNull();
    const deps = verifierDeps(t);
    const db = t.app.get<DataSource>(getDataSourceToken());
    const dir = mkdtempSync(path.join(tmpdir(), 'verify-value-'));
    try {
      cpSync(t.app.get(ReleaseEngine).dirOf(rel.id), dir, { recursive: true });
      await expect(verifyRelease(dir, { id: rel.id }, db, deps)).resolves.toMatchObject({ verified: true });
      // One row's value put back as held: checked as the engine calls the verifier (the producer's
      // list of files, with the corrupted file's bytes and hash), so only the rule can catch it.
      rmSync(path.join(dir, 'manifest.json'));
      const file = path.join(dir, 'gp.csv.gz');
      const lines = gunzipSync(readFileSync(file)).toString('utf8').split('\n');
      lines[1] = lines[1].replace(/,\*$/, ',61.4 kg');
      const bytes = gzipSync(Buffer.from(lines.join('\n')));
      writeFileSync(file, bytes);
      const { rows } = await t.sql.query(
        `SELECT name, rows::int AS rows, bytes::int AS bytes, sha256 FROM release_files
          WHERE release_id = $1 AND name <> 'manifest.json'`,
        [rel.id],
      );
      const files = rows.map((f) =>
        f.name === 'gp.csv.gz'
          ? { ...f, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }
          : f,
      );
      const err = await verifyRelease(dir, { id: rel.id, files }, db, deps).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(VerificationFailure);
      expect((err as Error).message).toMatch(/k-anonymity: gp.csv.gz row 1: value is not withheld/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the same for a hospital row’s linkage step: one person linked by a rare step is alone in their class on one known episode', async () => {
    // Every person of the class has one episode of the same diagnosis in the same month, linked by
    // step 1 — but one, whose record needed step 7. The step is an event column released as held.
    const load = await newLoad(t.sql, 'hes');
    const { rows: persons } = await t.sql.query(
      `SELECT id, nhs_number FROM patients WHERE practice_ods = $1 ORDER BY nhs_number`,
      [ODS],
    );
    for (const [i, p] of persons.entries())
      await addHes(t.sql, load, { nhs: p.nhs_number, patientId: p.id, diag: 'I63.9', step: i === 0 ? 7 : 1 });
    const rel = await runRelease(
      t,
      spec({
        tier: 'anonymised',
        legalBasis: 'none',
        datasets: [
          {
            dataset: 'hes',
            fields: [
              'nhs_number',
              'date_of_birth',
              'sex',
              'admission_date',
              'diagnosis_icd10',
              'linkage_step',
            ],
          },
        ],
        cohort: { practices: [ODS] },
        recipients: [researcher.id],
        requestedBy: officer.id,
      }),
      officer,
    );
    expect(rel.failure_reason).toBeNull(); // the verifier passed it
    const f = parseCsvGz((await download(t, researcher.auth, rel.id, 'hes.csv.gz')).body);
    const carriers = new Map<string, Set<string>>();
    for (const r of f.rows) {
      const e = [r.age_band, r.sex, r.admission_date, r.diagnosis_icd10, r.linkage_step].join('|');
      carriers.set(e, (carriers.get(e) ?? new Set<string>()).add(r.person_token));
    }
    const small = [...carriers.entries()].filter(([, s]) => s.size < K).map(([e, s]) => `${e}: ${s.size}`);
    // Today: ['55-59|F|2013-06|I63.9|7: 1'] (the age band as of the release date).
    expect(small).toEqual([]);
  });
});
