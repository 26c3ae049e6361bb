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
 * The record-level guard against the organisation's OTHER bids (`guardOtherBids`), attacked twice
 * on 2026-12-07 (each case seen failing before its fix):
 * - a review: the guard matched bids by the cohort JSON as written, so practices listed in another
 *   order, `ageMax: 130` or `eventsFrom: 1900-01-01` made the second bid "another population";
 * - a probe of that fix (`populationKey`): a cohort change that selects nobody — a registered
 *   practice with no patients, `ageMax: 129`, `eventsTo: 2099-12-30` — escaped the key.
 * Either way, two bids of one population released before and after one Type 2 objection differed
 * by the objector alone. Releases of 2k persons or more are now compared whatever their cohorts.
 */
const K = 10;

describe('the other-bids guard: a cohort written otherwise, or changed to select nobody, is still compared', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[] };
  let researcher: { id: string; auth: Record<string, string> };

  beforeAll(async () => {
    t = await createTestApp();
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles };
    // Z99999: a registered practice with no patients (closed, merged, or simply empty).
    for (const p of ['A81001', 'A81002', 'B82001', 'Z99999']) await seedPractice(t.sql, p);
    await t.sql.query(
      `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id)
       SELECT (9400000000 + g)::text, DATE '1960-01-01', 'F', 'LS1 4AP', 'A',
              CASE WHEN g <= 60 THEN 'A81001' WHEN g <= 120 THEN 'A81002' ELSE 'B82001' END, g::text
         FROM generate_series(1, 123) g`,
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
    ['practices in another order', 11, { practices: ['A81002', 'A81001'] }],
    ['ageMax 130', 12, { practices: ['A81001', 'A81002'], ageMax: 130 }],
    ['eventsFrom 1900-01-01', 13, { practices: ['A81001', 'A81002'], eventsFrom: '1900-01-01' }],
    ['a practice with no patients appended', 14, { practices: ['A81001', 'A81002', 'Z99999'] }],
    ['ageMax 129', 15, { practices: ['A81001', 'A81002'], ageMax: 129 }],
    ['eventsTo 2099-12-30', 16, { practices: ['A81001', 'A81002'], eventsTo: '2099-12-30' }],
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
      // Before the fixes: gone was [objector] alone — the researcher read who objected.
      expect(gone.length, `gone: ${JSON.stringify(gone)}`).toBeGreaterThanOrEqual(K);
    },
  );

  it('a second bid of a small population, after one objection, is not failed by the verifier', async () => {
    // 3 persons (practice B82001). Cover is impossible (fewer than k to withhold): the guard's loop
    // withholds the 2 others and stops with 3 gone; the verifier then fails the release, and the
    // researcher reads "failed their independent verification (differencing)".
    const cohort = { practices: ['B82001'] };
    const first = await release(spec({ ...body(), bidId: randomUUID(), cohort }));
    expect(first.rel.state).toBe('completed');
    await addObjection(t.sql, String(9400000000 + 121), 'type2');
    const second = await release(spec({ ...body(), bidId: randomUUID(), cohort }));
    expect([second.rel.state, second.rel.failure_reason]).not.toEqual([
      'failed',
      expect.stringMatching(/RELEASE_VERIFICATION_FAILED/),
    ]);
  });
});
