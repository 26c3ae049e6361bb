import { createHmac, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { createTestApp, TestApp } from '@custodian/testing';
import { ReleaseKeys } from '../libs/release/src/keys';
import { VerificationFailure, verifyRelease } from '../libs/release/src/verifier/verify-release';
import {
  addObjection,
  runRelease,
  seedPractice,
  spec,
  verifierDeps,
  releaseRewritten,
} from './release-helpers';

/**
 * Probe 33 (SPEC §5 step 3: `pseudo_id` = HMAC-SHA256(per-bid secret key, NHS number), "unlinkable
 * across bids"; step 6: the verifier "checks every rule of this section"). The verifier recognised
 * persons of a pseudonymised file only by recomputing the objectors' ids under the bid key, and
 * checked the others' shape (64 hex) alone. A file whose ids are under another key — an engine bug
 * that keys with another bid's key, or a fixed one, making the bid's files joinable with another
 * bid's — passed, and with it an objector's rows: their id under the wrong key is not the one the
 * verifier looks for. The identifiable tier likewise: an NHS number of someone the release never
 * selected (its ledger) passed as long as it was not an objector's.
 */
describe('probe 33: the verifier checks the persons of a record-level file are the release’s, under its key', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[] };
  let researcher: { id: string; auth: Record<string, string> };
  const ODS = 'K90332';
  const PERSONS = 40;
  const nhsOf = (g: number) => String(9533100000 + g);
  let objector: string;

  beforeAll(async () => {
    t = await createTestApp();
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles };
    const r = await t.as('researcher');
    researcher = { id: r.user.id, auth: r.auth };
    await seedPractice(t.sql, ODS);
    await t.sql.query(
      `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id)
       SELECT (9533100000 + g)::text, DATE '1970-05-17', 'F', 'LS1 4AP', 'A', $1, g::text
         FROM generate_series(1, $2::int) g`,
      [ODS, PERSONS + 1],
    );
    await t.sql.query(
      `INSERT INTO gp_events (patient_id, practice_ods, resource_type, resource_id, code_system, code, event_date)
       SELECT id, practice_ods, 'condition', 'c' || id, 'snomed', '22298006', DATE '2012-03-04'
         FROM patients WHERE practice_ods = $1`,
      [ODS],
    );
    // The last one objects (Type 2): left out of an s251 release.
    objector = nhsOf(PERSONS + 1);
    await addObjection(t.sql, objector, 'type2');
  });
  afterAll(() => t?.close());

  const release = (tier: 'pseudonymised' | 'identifiable') => {
    const s = spec({
      tier,
      legalBasis: 's251',
      datasets: [{ dataset: 'gp', fields: ['nhs_number', 'sex', 'code'] }],
      cohort: { practices: [ODS] },
      recipients: [researcher.id],
      requestedBy: officer.id,
    });
    return runRelease(t, s, officer).then((rel) => ({ ...rel, bidId: s.bidId }));
  };

  /** Verifies a copy of the release's files with gp.csv.gz's rows rewritten (release-helpers `releaseRewritten`). */
  async function verifyRewritten(id: string, rewrite: (lines: string[]) => string[]): Promise<unknown> {
    const db = t.app.get<DataSource>(getDataSourceToken());
    const control = await releaseRewritten(t, id, 'gp.csv.gz', (lines) => lines);
    try {
      await expect(
        verifyRelease(control.dir, { id, files: control.files }, db, verifierDeps(t)),
      ).resolves.toMatchObject({
        verified: true,
      });
    } finally {
      rmSync(control.dir, { recursive: true, force: true });
    }
    const copy = await releaseRewritten(t, id, 'gp.csv.gz', ([head, ...rest]) => [
      head,
      ...rewrite(rest.filter(Boolean)),
      '',
    ]);
    try {
      return await verifyRelease(copy.dir, { id, files: copy.files }, db, verifierDeps(t)).then(
        () => undefined,
        (e: unknown) => e,
      );
    } finally {
      rmSync(copy.dir, { recursive: true, force: true });
    }
  }

  it('a pseudonymised file keyed under another key, an objector among its persons, is refused', async () => {
    const rel = await release('pseudonymised');
    expect(rel.failure_reason).toBeNull();
    const { rows } = await t.sql.query(`SELECT key_enc FROM bid_keys WHERE bid_id = $1`, [rel.bidId]);
    const bidKey = t.app.get(ReleaseKeys).open(rows[0].key_enc, `bid:${rel.bidId}`);
    const other = randomBytes(32); // another bid's key, say
    const mac = (k: Buffer, n: string) => createHmac('sha256', k).update(n).digest('hex');
    const byId = new Map(
      Array.from({ length: PERSONS + 1 }, (_, i) => [mac(bidKey, nhsOf(i + 1)), nhsOf(i + 1)]),
    );
    const err = await verifyRewritten(rel.id, (lines) => {
      // pseudo_id,sex,code: every id re-keyed under the other key, and the first person's rows
      // given to the objector (as many persons as before: the ledger's count holds).
      const first = lines[0].split(',')[0];
      return lines.map((l) => {
        const [id, ...rest] = l.split(',');
        return [mac(other, id === first ? objector : byId.get(id)!), ...rest].join(',');
      });
    });
    expect(err).toBeInstanceOf(VerificationFailure);
    expect((err as Error).message).toMatch(/^identities: /);
  });

  it('an identifiable file naming someone the release did not select is refused', async () => {
    const rel = await release('identifiable');
    expect(rel.failure_reason).toBeNull();
    // nhs_number,sex,code: the first person's rows given to someone the release never selected
    // (a valid NHS number of the practice's population beside it, not an objector).
    const stranger = '9434765919';
    const err = await verifyRewritten(rel.id, (lines) => {
      const first = lines[0].split(',')[0];
      return lines.map((l) => (l.startsWith(first + ',') ? l.replace(first, stranger) : l));
    });
    expect(err).toBeInstanceOf(VerificationFailure);
    expect((err as Error).message).toMatch(/^identities: /);
  });
});
