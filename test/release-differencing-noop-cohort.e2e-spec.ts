import { randomUUID } from 'node:crypto';
import { createTestApp, TestApp } from '@custodian/testing';
import type { ReleaseSpec } from '@custodian/release';
import {
  addObjection,
  download,
  otherOrganisationRecipient,
  parseCsvGz,
  runRelease,
  seedPractice,
  spec,
} from './release-helpers';

/**
 * An attacker's probe (2026-12-07, finding 1; seen failing before the fix). The other-bids rule compares a record-level release only with other bids
 * whose `populationKey` is equal. The key keeps any bound short of the API's limits and any list
 * entry as written, so a cohort change that selects NOBODY more or less — a registered practice with
 * no patients appended to the list, `ageMax: 129` (nobody is 130), `eventsTo: 2099-12-30` — makes
 * the second bid "another population": never compared. Two bids of one population, released before
 * and after one Type 2 objection, again differ by the objector alone.
 *
 * Each case runs two worlds on the same data: "objector" (patient 11/12/13 objects between the two
 * bids) and "none" (nobody objects). The researcher reads `first minus second`.
 */
const K = 10;

describe('a cohort change that selects nobody does not escape the other-bids comparison', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[] };
  let researcher: { id: string; auth: Record<string, string> };

  beforeAll(async () => {
    t = await createTestApp();
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles };
    // Z99999: a registered practice with no patients (closed, merged, or simply empty).
    for (const p of ['A81001', 'A81002', 'Z99999']) await seedPractice(t.sql, p);
    await t.sql.query(
      `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id)
       SELECT (9400000000 + g)::text, DATE '1960-01-01', 'F', 'LS1 4AP', 'A',
              CASE WHEN g <= 60 THEN 'A81001' ELSE 'A81002' END, g::text
         FROM generate_series(1, 120) g`,
    );
    await t.sql.query(
      `INSERT INTO gp_events (patient_id, practice_ods, resource_type, resource_id, code_system, code, event_date)
       SELECT p.id, p.practice_ods, 'condition', 'r' || p.source_id, 'snomed', 'c' || p.source_id || '_1', DATE '2012-01-02'
         FROM patients p`,
    );
  });
  afterAll(() => t?.close());
  beforeEach(async () => {
    researcher = await otherOrganisationRecipient(t);
  });

  const release = async (s: ReleaseSpec) => {
    const rel = await runRelease(t, { ...s }, officer);
    if (rel.state !== 'completed') return { rel, persons: new Set<number>() };
    const gp = parseCsvGz((await download(t, researcher.auth, rel.id, 'gp.csv.gz')).body).rows;
    return { rel, persons: new Set(gp.map((r) => Number(/^c(\d+)_/.exec(r.code)![1]))) };
  };
  const minus = (a: Set<number>, b: Set<number>) => [...a].filter((x) => !b.has(x));
  const body = () => ({
    tier: 'pseudonymised' as const,
    legalBasis: 's251' as const,
    datasets: [{ dataset: 'gp' as const, fields: ['nhs_number', 'sex', 'code', 'event_date'] }],
    recipients: [researcher.id],
    requestedBy: officer.id,
  });

  it.each([
    ['a practice with no patients appended', 11, { practices: ['A81001', 'A81002', 'Z99999'] }],
    ['ageMax 129', 12, { practices: ['A81001', 'A81002'], ageMax: 129 }],
    ['eventsTo 2099-12-30', 13, { practices: ['A81001', 'A81002'], eventsTo: '2099-12-30' }],
  ])(
    '%s: the second bid, after one objection, differs from the first by 0 or at least k',
    async (_, objector, cohort) => {
      const first = await release(
        spec({ ...body(), bidId: randomUUID(), cohort: { practices: ['A81001', 'A81002'] } }),
      );
      expect(first.rel.state).toBe('completed');
      await addObjection(t.sql, String(9400000000 + objector), 'type2');
      const second = await release(
        spec({ ...body(), bidId: randomUUID(), cohort: cohort as ReleaseSpec['cohort'] }),
      );
      expect(second.rel.state).toBe('completed');
      const gone = minus(first.persons, second.persons);
      expect(gone).toContain(objector);
      // Failed before the fix: gone was [objector] alone — the researcher read who objected.
      expect(gone.length, `gone: ${JSON.stringify(gone)}`).toBeGreaterThanOrEqual(K);
    },
  );
});
