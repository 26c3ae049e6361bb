import { randomUUID } from 'node:crypto';
import { createTestApp, TestApp } from '@custodian/testing';
import type { ReleaseSpec } from '@custodian/release';
import {
  addObjection,
  download,
  otherOrganisationRecipient,
  parseCsvGz,
  prng,
  runRelease,
  seedPractice,
  spec,
} from './release-helpers';

/**
 * #27, SPEC §5 (differencing), as a property: a record-level release of a bid differs from EVERY
 * earlier release of that bid by no persons or by at least k on the leaving side — for each pair
 * (Ri, Rj), i < j, the persons of Ri not in Rj number 0 or ≥ k. The guard compared a release with
 * the bid's last release only; persons who left uncovered and came back, or a group of leavers part
 * of whom had joined after an earlier release, made an earlier pair differ by 1 to k−1.
 *
 * Also the guard's policy that makes it hold: whoever left a release of the bid is in none after it.
 *
 * Each run: one pseudonymised bid over a practice of its own (its own organisation, so no other bid
 * is compared), 4–6 releases, and between them random Type 2 objections registered and withdrawn
 * and persons added. Persons are read from the files as the researcher sees them (`pseudo_id`).
 * Choices come from a seeded PRNG; a failure prints the seed and the steps. Replay one run with
 * `DIFF_SEED=<seed>`; `DIFF_RUNS` runs (default 7, about 25 s here).
 */
const K = 3;
const RUNS = Number(process.env.DIFF_RUNS ?? 7);
const BASE_SEED = Number(process.env.DIFF_SEED ?? Math.floor(Math.random() * 2 ** 31));

describe('differencing against every earlier release of the bid (property, #27)', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[] };
  let day = 0;

  beforeAll(async () => {
    t = await createTestApp({ ANON_K: String(K) });
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles };
  });
  afterAll(() => t?.close());

  /** Persons `from`..`to` of practice `ods` (NHS numbers `base + n`), one GP condition each. */
  async function addPersons(ods: string, base: number, from: number, to: number) {
    await t.sql.query(
      `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id)
       SELECT ($3::bigint + g)::text, DATE '1960-01-01', 'F', 'LS1 4AP', 'A', $4::text, $4::text || '-' || g
         FROM generate_series($1::int, $2::int) g`,
      [from, to, base, ods],
    );
    await t.sql.query(
      `INSERT INTO gp_events (patient_id, practice_ods, resource_type, resource_id, code_system, code, event_date)
       SELECT p.id, p.practice_ods, 'condition', 'r' || p.source_id, 'snomed', '22298006', DATE '2012-01-01'
         FROM patients p WHERE p.practice_ods = $1::text AND p.nhs_number::bigint BETWEEN $2::bigint + $3 AND $2::bigint + $4`,
      [ods, base, from, to],
    );
  }

  /** An objection event effective one day after the last (their order is the register's). */
  const objection = (nhs: string, action: 'register' | 'withdraw') => {
    day += 1;
    const on = new Date(Date.UTC(2014, 0, 1) + day * 86_400_000).toISOString().slice(0, 10);
    return addObjection(t.sql, nhs, 'type2', action, { effectiveOn: on });
  };

  const minus = (a: Set<string>, b: Set<string>) => [...a].filter((x) => !b.has(x));

  it(`for every pair of the bid's releases, 0 or at least k=${K} persons of the earlier are missing from the later (seed ${BASE_SEED})`, async () => {
    for (let run = 0; run < RUNS; run++) {
      const seed = (BASE_SEED + run) >>> 0;
      const rnd = prng(seed);
      const pick = (n: number) => Math.floor(rnd() * n);
      const ods = `Y${String(90000 + run)}`;
      const base = 9700000000 + run * 10_000 + (BASE_SEED % 50) * 100_000;
      await seedPractice(t.sql, ods);
      const researcher = await otherOrganisationRecipient(t);
      const s: ReleaseSpec = spec({
        bidId: randomUUID(),
        tier: 'pseudonymised',
        datasets: [{ dataset: 'gp', fields: ['nhs_number', 'code'] }],
        cohort: { practices: [ods] },
        recipients: [researcher.id],
        requestedBy: officer.id,
      });
      let persons = 4 * K + pick(3 * K);
      await addPersons(ods, base, 1, persons);
      const objecting = new Set<number>();
      const steps: string[] = [`${persons} persons`];
      const releases: Set<string>[] = [];
      const count = 4 + pick(3);
      for (let r = 0; r < count; r++) {
        if (r > 0) {
          // Between releases: objections registered, objections withdrawn, persons added.
          const register = pick(K + 2);
          const withdraw = Math.min(objecting.size, pick(K + 1));
          const add = pick(3) === 0 ? 0 : pick(K + 3);
          const did: string[] = [];
          for (let i = 0; i < withdraw; i++) {
            const who = [...objecting][pick(objecting.size)];
            objecting.delete(who);
            await objection(String(base + who), 'withdraw');
            did.push(`-obj ${who}`);
          }
          for (let i = 0; i < register; i++) {
            const who = 1 + pick(persons);
            if (objecting.has(who)) continue;
            objecting.add(who);
            await objection(String(base + who), 'register');
            did.push(`+obj ${who}`);
          }
          if (add > 0) {
            await addPersons(ods, base, persons + 1, persons + add);
            did.push(`+${add} persons (${persons + 1}..${persons + add})`);
            persons += add;
          }
          steps.push(did.join(', ') || 'nothing');
        }
        const rel = await runRelease(t, { ...s }, officer);
        const where = `seed ${seed} (replay: DIFF_SEED=${seed} DIFF_RUNS=1), steps: ${steps.join(' | ')}`;
        expect(rel.failure_reason, where).toBeNull();
        const gp = parseCsvGz((await download(t, researcher.auth, rel.id, 'gp.csv.gz')).body).rows;
        releases.push(new Set(gp.map((row) => row.pseudo_id)));
        steps.push(`R${r + 1}: ${releases[r].size}`);
        const small: string[] = [];
        for (let i = 0; i < releases.length; i++)
          for (let j = i + 1; j < releases.length; j++) {
            const gone = minus(releases[i], releases[j]).length;
            if (gone > 0 && gone < K) small.push(`R${i + 1}\\R${j + 1} = ${gone}`);
          }
        expect(small, `${where}`).toEqual([]);
        // And the guard's policy behind it: whoever left a release of the bid is in none after it
        // (a returner would be singled out as one of those who left; probe 33).
        const back: string[] = [];
        for (let i = 0; i < releases.length; i++)
          for (let j = i + 1; j < releases.length - 1; j++) {
            const gone = minus(releases[i], releases[j]);
            const returned = gone.filter((p) => releases[r].has(p)).length;
            if (returned) back.push(`${returned} of R${i + 1}\\R${j + 1} back in R${r + 1}`);
          }
        expect(back, where).toEqual([]);
      }
    }
  }, 120_000);
});
