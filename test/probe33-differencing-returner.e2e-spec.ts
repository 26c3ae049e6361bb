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
 * Probe 33 (SPEC §5: two releases of one bid never differ by fewer than k persons). The record-level
 * differencing guard compares a release with the bid's last release only. A pseudonymised bid
 * released before (R1) and after (R2) one patient's Type 2 objection hid the objector among k who
 * left (k−1 withheld for good). The patient then withdrew the objection: held back alone (R3),
 * released once k new persons came (R4). R1 and R4 then differ by the k−1 withheld alone, and of
 * the k who left between R1 and R2 exactly one is back in R4, under the same pseudo_id: the
 * objector, singled out.
 */
const K = 10;

describe('probe 33: a release differs from every earlier release of its bid by no persons or by at least k', () => {
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
    await addPersons(1, 40);
  });
  afterAll(() => t?.close());

  it('an objector who withdraws is not singled out by coming back alone', async () => {
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
    const objector = String(9533200000 + 7);

    const r1 = await persons();
    expect(r1.size).toBe(40);
    await addObjection(t.sql, objector, 'type2', 'register', { effectiveOn: '2014-01-01' });
    const r2 = await persons();
    const left = minus(r1, r2);
    expect(left).toHaveLength(K); // the objector and k−1 withheld
    await addObjection(t.sql, objector, 'type2', 'withdraw', { effectiveOn: '2015-01-01' });
    const r3 = await persons();
    expect(r3).toEqual(r2); // one new person (the returner) held back
    await addPersons(41, 40 + K); // k new persons
    const r4 = await persons();

    // Every pair of the bid's releases differs by none or at least k on each side.
    const releases = [r1, r2, r3, r4];
    const small: string[] = [];
    for (let i = 0; i < releases.length; i++)
      for (let j = i + 1; j < releases.length; j++) {
        const gone = minus(releases[i], releases[j]).length;
        const come = minus(releases[j], releases[i]).length;
        if ((gone > 0 && gone < K) || (come > 0 && come < K))
          small.push(`R${i + 1}/R${j + 1}: -${gone} +${come}`);
      }
    // Before: ['R1/R4: -9 +10'] — and of the k who left between R1 and R2, one is back in R4.
    expect(small).toEqual([]);
    expect(left.filter((p) => r4.has(p))).toHaveLength(0);
  });
});
