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
 * Probe 33, finding 5 (SPEC §5 differencing; the guard compares a release with the bid's last
 * release and with the last release of each other bid of the organisation drawing on the same
 * population). Bid A is released before one patient's Type 2 objection; bid B, of the same
 * population, after it: the objector is covered by k−1 of A's persons, withheld in B. The patient
 * withdraws and k new persons join; B's next release is compared with A again, and another of A's
 * persons is withheld to cover A — one B's first release had, so B's two releases differed by that
 * one person: the verifier refused the release (RELEASE_VERIFICATION_FAILED, "1 persons of the
 * earlier release left"), and so would every later one. The guard now compares the bid's last
 * release again in each round, and those who left where they were covered (here the objector,
 * against A) stay withheld with their cover: of the k in A and not in B's first, none is in B's
 * latest (identifiable tier: by NHS number).
 */
const K = 10;

describe('probe 33: a covered objector who withdraws does not come back alone in another bid', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[] };
  let researcher: { id: string; auth: Record<string, string> };

  const addPersons = (from: number, to: number) => addGpPersons(t.sql, from, to, 9533300000);

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

  it('bid B is released again, and the objector stays out of it with the persons who covered them', async () => {
    const bid = (): ReleaseSpec =>
      spec({
        bidId: randomUUID(),
        tier: 'identifiable',
        datasets: [{ dataset: 'gp', fields: ['nhs_number', 'code'] }],
        recipients: [researcher.id],
        requestedBy: officer.id,
      });
    const [a, b] = [bid(), bid()];
    const persons = async (s: ReleaseSpec) => {
      const rel = await runRelease(t, { ...s }, officer);
      if (rel.failure_reason) {
        const { rows } = await t.sql.query(`SELECT excluded FROM releases WHERE id = $1`, [rel.id]);
        throw new Error(`${rel.failure_reason} / ${JSON.stringify(rows[0].excluded?.failure)}`);
      }
      const gp = parseCsvGz((await download(t, researcher.auth, rel.id, 'gp.csv.gz')).body).rows;
      return new Set(gp.map((r) => r.nhs_number));
    };
    const minus = (x: Set<string>, y: Set<string>) => [...x].filter((v) => !y.has(v));
    const objector = String(9533300000 + 7);

    const ra = await persons(a);
    expect(ra.size).toBe(40);
    await addObjection(t.sql, objector, 'type2', 'register', { effectiveOn: '2014-01-01' });
    const rb1 = await persons(b);
    const left = minus(ra, rb1);
    expect(left).toHaveLength(K); // the objector and k−1 of A's persons withheld in B
    expect(left).toContain(objector);
    await addObjection(t.sql, objector, 'type2', 'withdraw', { effectiveOn: '2015-01-01' });
    await addPersons(41, 40 + K); // k new persons
    const rb2 = await persons(b);
    // Before: the release failed its verification (1 person of B's first release gone).
    expect(left.filter((p) => rb2.has(p))).toEqual([]);
  });
});
