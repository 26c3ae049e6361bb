import { rmSync } from 'node:fs';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { createTestApp, TestApp } from '@custodian/testing';
import { VerificationFailure, verifyRelease } from '../libs/release/src/verifier/verify-release';
import {
  download,
  newLoad,
  otherOrganisationRecipient,
  parseCsvGz,
  releaseRewritten,
  runRelease,
  seedPractice,
  spec,
  verifierDeps,
} from './release-helpers';

/**
 * Probe 42 (SPEC §5 step 3: source row keys are "keyed per bid like `pseudo_id`" in the
 * pseudonymised tier, and "no value in a pseudonymised or anonymised file may join it to another
 * bid's files"; step 6: the verifier checks every rule). The verifier recomputed `epikey` only for
 * persons sampled from a HES file with a person column; in a file without one (`epikey`, dates and
 * codes) it checked the keys' shape alone. A pseudonymised HES file whose every `epikey` was keyed
 * under another bid's key — the very column that joins it row for row to that bid's file — verified.
 */
describe('probe 42: the verifier recomputes epikeys in a HES file without a person column', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[] };
  const PERSONS = 40;

  beforeAll(async () => {
    t = await createTestApp();
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles };
    await seedPractice(t.sql);
    const hes = await newLoad(t.sql, 'hes');
    await t.sql.query(
      `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id)
       SELECT (9542100000 + g)::text, DATE '1960-01-01', 'F', 'LS1 4AP', 'A', 'A81001', g::text
         FROM generate_series(1, $1::int) g`,
      [PERSONS],
    );
    // One episode each, alike but for its key: rows of the file differ in `epikey` alone.
    await t.sql.query(
      `INSERT INTO hes_episodes (epikey, nhs_number, birth_date, sex, postcode, admission_date, diagnosis_icd10, provider_code, load_id, patient_id, linkage_step)
       SELECT (420000000000 + p.source_id::int)::text, p.nhs_number, p.birth_date, 'F', 'LS1 4AP',
              DATE '2013-06-01', 'I639', 'RR8', $1, p.id, 1
         FROM patients p`,
      [hes],
    );
  });
  afterAll(() => t?.close());

  const release = async (tier: 'pseudonymised' | 'anonymised') => {
    const r = await otherOrganisationRecipient(t);
    const rel = await runRelease(
      t,
      spec({
        tier,
        legalBasis: tier === 'anonymised' ? 'none' : 's251',
        datasets: [{ dataset: 'hes', fields: ['epikey', 'admission_date', 'diagnosis_icd10'] }],
        recipients: [r.id],
        requestedBy: officer.id,
      }),
      officer,
    );
    expect(rel.failure_reason).toBeNull();
    const { rows } = parseCsvGz((await download(t, r.auth, rel.id, 'hes.csv.gz')).body);
    expect(rows.length).toBe(PERSONS);
    return { id: rel.id, epikeys: rows.map((x) => x.epikey) };
  };

  /** Verifies a copy of release `id` whose hes.csv.gz rows carry `epikeys` (null: unedited). */
  async function verifyWith(id: string, epikeys: string[] | null): Promise<unknown> {
    const db = t.app.get<DataSource>(getDataSourceToken());
    const copy = await releaseRewritten(t, id, 'hes.csv.gz', (lines) => {
      const c = lines[0].split(',').indexOf('epikey');
      return lines.map((l, i) => {
        if (i === 0 || l === '' || !epikeys) return l;
        const f = l.split(',');
        f[c] = epikeys[i - 1];
        return f.join(',');
      });
    });
    try {
      return await verifyRelease(copy.dir, { id, files: copy.files }, db, verifierDeps(t)).then(
        () => undefined,
        (e: unknown) => e,
      );
    } finally {
      rmSync(copy.dir, { recursive: true, force: true });
    }
  }

  it("a pseudonymised file carrying another bid's keyed epikeys is refused", async () => {
    const a = await release('pseudonymised');
    const b = await release('pseudonymised');
    // Keyed per bid: the two bids' files share no key.
    expect(a.epikeys.filter((k) => b.epikeys.includes(k))).toEqual([]);
    expect(await verifyWith(a.id, null)).toBeUndefined();
    // Bid A's file with bid B's keys (its rows are otherwise alike): joinable to B's file.
    const err = await verifyWith(a.id, b.epikeys);
    expect(err).toBeInstanceOf(VerificationFailure);
    expect((err as Error).message).toMatch(/identifiers by tier: hes.csv.gz: .*epikey/);
  });

  it("an anonymised file carrying the bid's stable keys, or another release's, is refused", async () => {
    const a = await release('anonymised');
    const b = await release('anonymised');
    expect(await verifyWith(a.id, null)).toBeUndefined();
    const err = await verifyWith(a.id, b.epikeys);
    expect(err).toBeInstanceOf(VerificationFailure);
    expect((err as Error).message).toMatch(/identifiers by tier: hes.csv.gz: .*epikey/);
  });
});
