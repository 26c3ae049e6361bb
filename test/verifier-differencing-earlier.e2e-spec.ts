import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { createTestApp, TestApp } from '@custodian/testing';
import type { ReleaseSpec } from '@custodian/release';
import { ReleaseKeys } from '../libs/release/src/keys';
import { VerificationFailure, verifyRelease } from '../libs/release/src/verifier/verify-release';
import {
  addObjection,
  download,
  hmacHex,
  parseCsvGz,
  releaseRewritten,
  runRelease,
  seedPractice,
  spec,
  verifierDeps,
} from './release-helpers';

/**
 * #27, fix 37: the verifier (its own SQL over the release ledger, difference-check.ts) holds a
 * record-level release to the rule against EVERY earlier release of its bid, not the last alone.
 *
 * R1: 40 persons. R2: 10 more join (50). Then person 1 (of R1) and 9 of the 10 new object: R3 loses
 * 10 against R2 (k, no cover needed) but only 1 against R1 — the guard now withholds 9 more of R1's
 * persons. A release as the guard before fix 37 made it (those 9 released: the ledger says so and
 * the file carries their rows, so every count and sample agrees) differs from R1 by the objector
 * alone, and from R2 by 10: the verifier compared with R2 only and passed it.
 */
const K = 10;
const ODS = 'K90370';
const BASE = 9537000000;

describe('the verifier compares a release with every earlier release of its bid (#27, fix 37)', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[] };
  let researcher: { id: string; auth: Record<string, string> };

  async function addPersons(from: number, to: number) {
    await t.sql.query(
      `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id)
       SELECT ($3::bigint + g)::text, DATE '1960-01-01', 'F', 'LS1 4AP', 'A', $4::text, 'v37-' || g
         FROM generate_series($1::int, $2::int) g`,
      [from, to, BASE, ODS],
    );
    await t.sql.query(
      `INSERT INTO gp_events (patient_id, practice_ods, resource_type, resource_id, code_system, code, event_date)
       SELECT p.id, p.practice_ods, 'condition', 'r' || p.source_id, 'snomed', '22298006', DATE '2012-01-01'
         FROM patients p WHERE p.practice_ods = $1::text AND p.nhs_number::bigint BETWEEN $2::bigint AND $3::bigint`,
      [ODS, BASE + from, BASE + to],
    );
  }

  beforeAll(async () => {
    t = await createTestApp();
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles };
    const r = await t.as('researcher');
    researcher = { id: r.user.id, auth: r.auth };
    await seedPractice(t.sql, ODS);
    await addPersons(1, 40);
  });
  afterAll(() => t?.close());

  it('refuses a release that differs from an earlier release of the bid (not the last) by 1 to k−1 persons gone', async () => {
    const s: ReleaseSpec = spec({
      bidId: randomUUID(),
      tier: 'pseudonymised',
      datasets: [{ dataset: 'gp', fields: ['nhs_number', 'code'] }],
      cohort: { practices: [ODS] },
      recipients: [researcher.id],
      requestedBy: officer.id,
    });
    const release = async () => {
      const rel = await runRelease(t, { ...s }, officer);
      expect(rel.failure_reason).toBeNull();
      const gp = (await download(t, researcher.auth, rel.id, 'gp.csv.gz')).body as Buffer;
      return { id: rel.id, lines: parseCsvGz(gp).rows.map((r) => `${r.pseudo_id},${r.code}`) };
    };
    const r1 = await release();
    await addPersons(41, 50);
    const r2 = await release();
    expect(r2.lines).toHaveLength(50);
    const objectors = [1, ...Array.from({ length: 9 }, (_, i) => 41 + i)].map((g) => BASE + g);
    for (const o of objectors) await addObjection(t.sql, String(o), 'type2');
    const r3 = await release();
    // The guard covered the objector against R1: 9 more of R1's persons withheld (31 released).
    expect(r3.lines).toHaveLength(31);
    const { rows: held } = await t.sql.query(
      `SELECT u.n::text AS nhs FROM release_ledger_members m CROSS JOIN LATERAL unnest(m.nhs) AS u(n)
        WHERE m.release_id = $1 AND m.state = 'withheld'`,
      [r3.id],
    );
    const cover = (held as { nhs: string }[]).map((h) => Number(h.nhs)).filter((n) => !objectors.includes(n));
    expect(cover).toHaveLength(K - 1);

    const db = t.app.get<DataSource>(getDataSourceToken());
    const verify = async (rewrite: (lines: string[]) => string[]) => {
      const copy = await releaseRewritten(t, r3.id, 'gp.csv.gz', rewrite);
      try {
        return await verifyRelease(copy.dir, { id: r3.id, files: copy.files }, db, verifierDeps(t));
      } finally {
        rmSync(copy.dir, { recursive: true, force: true });
      }
    };
    const ok = await verify((lines) => lines);
    expect(ok.checks).toContain(
      `differs from every earlier release of the bid by no persons or by at least k=${K} gone (release ledger)`,
    );

    // As the guard before fix 37 made it: the cover released after all — in the ledger, and their
    // rows (as R2 showed them, under the bid's key) in the file.
    await t.sql.query(
      `UPDATE release_ledger_members SET nhs = array(SELECT x FROM unnest(nhs) x WHERE x <> ALL($2::bigint[]))
        WHERE release_id = $1 AND state = 'withheld'`,
      [r3.id, cover],
    );
    await t.sql.query(
      `INSERT INTO release_ledger_members (release_id, state, part, nhs)
       SELECT $1, 'released', (x % 64)::smallint, array_agg(x) FROM unnest($2::bigint[]) x GROUP BY x % 64
       ON CONFLICT (release_id, state, part) DO UPDATE SET nhs = release_ledger_members.nhs || EXCLUDED.nhs`,
      [r3.id, cover],
    );
    const { rows: keys } = await t.sql.query(`SELECT key_enc FROM bid_keys WHERE bid_id = $1`, [s.bidId]);
    const bidKey = t.app.get(ReleaseKeys).open(keys[0].key_enc, `bid:${s.bidId}`);
    const ids = new Set(cover.map((n) => hmacHex(bidKey, String(n))));
    const rows = r2.lines.filter((l) => ids.has(l.split(',')[0]));
    expect(rows).toHaveLength(K - 1);
    expect(rows.every((l) => r1.lines.includes(l) && !r3.lines.includes(l))).toBe(true);
    const err = await verify(([head, ...rest]) => [head, ...rest.filter(Boolean), ...rows, '']).catch(
      (e: unknown) => e,
    );
    // Against R2 (the last) it differs by the 10 objectors: fine; against R1 by the objector alone.
    expect(err).toBeInstanceOf(VerificationFailure);
    expect((err as Error).message).toBe(
      `differencing: 1 persons of the earlier release left since release ${r1.id}, an earlier release of the bid: a difference of 1 to ${K - 1} persons singles them out`,
    );
  });
});
