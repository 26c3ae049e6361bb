import { randomUUID } from 'node:crypto';
import { createTestApp, TestApp } from '@custodian/testing';
import type { ReleaseSpec } from '@custodian/release';
import {
  addObjection,
  download,
  parseCsvGz,
  runRelease,
  seedPractice,
  spec,
  addGpPersons,
} from './release-helpers';

/**
 * Probe 33, left open (a design question, kept as `it.fails`). Finding 4 keeps those who left in a
 * covered round out for good. Where k or more left together there is no cover: here exactly k
 * Type 2 objections between R1 and R2; one of them withdraws, is held back alone (R3), and is
 * released once k new persons join (R4). R1 and R4 then differ by k−1, and the one of the k back
 * in R4 (same pseudo_id) is visible as the one who withdrew. The guard compares with the bid's last
 * release only; holding back returners until k come back together would need the bid's earlier
 * releases (a cumulative "gone" set in the ledger). See /work/notes/probe33-FINDINGS.md.
 *
 * Finding 4's own scenario (SPEC §5: two releases of one bid never differ by fewer than k persons). The record-level
 * differencing guard compares a release with the bid's last release only. A pseudonymised bid
 * released before (R1) and after (R2) one patient's Type 2 objection hid the objector among k who
 * left (k−1 withheld for good). The patient then withdrew the objection: held back alone (R3),
 * released once k new persons came (R4). R1 and R4 then differ by the k−1 withheld alone, and of
 * the k who left between R1 and R2 exactly one is back in R4, under the same pseudo_id: the
 * objector, singled out.
 */
const K = 10;

describe('probe 33 (open): uncovered leavers who come back', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[] };
  let researcher: { id: string; auth: Record<string, string> };

  const addPersons = (from: number, to: number) => addGpPersons(t.sql, from, to, 9533200000);

  beforeAll(async () => {
    t = await createTestApp();
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles };
    const r = await t.as('researcher');
    researcher = { id: r.user.id, auth: r.auth };
    await seedPractice(t.sql);
    await addPersons(1, 40); // beside the 40 of the test below (101-140)
  });
  afterAll(() => t?.close());

  it.fails('k objectors leave together (no cover); one withdraws and comes back alone', async () => {
    const s: ReleaseSpec = spec({
      bidId: randomUUID(),
      tier: 'pseudonymised',
      datasets: [{ dataset: 'gp', fields: ['nhs_number', 'code'] }],
      recipients: [researcher.id],
      requestedBy: officer.id,
    });
    const persons = async () => {
      const rel = await runRelease(t, { ...s }, officer);
      expect(rel.failure_reason).toBeNull();
      const gp = parseCsvGz((await download(t, researcher.auth, rel.id, 'gp.csv.gz')).body).rows;
      return new Set(gp.map((r) => r.pseudo_id));
    };
    const minus = (a: Set<string>, b: Set<string>) => [...a].filter((x) => !b.has(x));
    await addPersons(101, 140);
    const r1 = await persons();
    const objectors = Array.from({ length: K }, (_, i) => String(9533200000 + 101 + i));
    for (const o of objectors)
      await addObjection(t.sql, o, 'type2', 'register', { effectiveOn: '2014-01-01' });
    const r2 = await persons();
    const left = minus(r1, r2);
    expect(left).toHaveLength(K);
    await addObjection(t.sql, objectors[0], 'type2', 'withdraw', { effectiveOn: '2015-01-01' });
    await addPersons(141, 140 + K);
    const r4 = await persons();
    // Today: R1 and R4 differ by k−1 on one side, and one of the k who left is back.
    expect(left.filter((p) => r4.has(p))).toHaveLength(0);
  });
});
