import { randomUUID } from 'node:crypto';
import type { Cohort } from '@custodian/bids';
import { createTestApp, TestApp } from '@custodian/testing';
import {
  addEvent,
  addPatient,
  otherOrganisationRecipient,
  runRelease,
  seedPractice,
  spec,
} from './release-helpers';

/**
 * Review 27 of 29762a9 (probe 27, finding 3). The keyed margin is drawn over the request's text:
 * `aggregateRequest` keys the cohort as written (lists sorted), so a cohort that selects exactly the
 * same persons but is spelt differently — `ageMin: 0`, `ageMax: 130`, an `eventsFrom` before any
 * record, an `eventsTo` in the future — draws a new threshold. docs/RELEASE.md: "What keys the request
 * is what decides who is counted … the researcher … cannot find [the population] by stepping the
 * cohort, since each changed cohort is a new request". A no-op change is a new request too, and it
 * is a narrowing (an amendment a release officer approves alone, `amendment.dto.ts`), not a new bid
 * before the panel.
 *
 * One bid, one population of 107 persons, 16 spellings of the same cohort. If the threshold depended
 * on what decides who is counted, every spelling would meet the same one and get the same outcome.
 * Today each spelling is a fresh draw in [100, 114]: about 8 in 15 are released; all 16 alike by
 * chance (8/15)^16 + (7/15)^16 < 1 in 20,000. With enough spellings the share released gives the
 * population, and one more person (the target's code, a Type 1 objection) moves it.
 */
describe('review 27: the aggregate margin is re-drawn by a cohort spelt differently', () => {
  let t: TestApp;
  let officer: { id: string; roles: string[] };
  const ODS = 'K92703';

  beforeAll(async () => {
    t = await createTestApp();
    const o = await t.as('release_officer');
    officer = { id: o.user.id, roles: o.user.roles };
    await seedPractice(t.sql, ODS);
    for (let i = 0; i < 107; i++)
      await addEvent(
        t.sql,
        await addPatient(t.sql, { nhs: String(9527300000 + i), birth: '1975-02-01', practice: ODS }),
        '22298006',
        '2015-06-01',
      );
  });
  afterAll(() => t?.close());

  it('cohorts that select the same persons meet the same threshold (the same outcome)', async () => {
    const bidId = randomUUID();
    const r = await otherOrganisationRecipient(t);
    const base: Cohort = { practices: [ODS] };
    // Every one selects the same 107 persons and the same events (born 1975, events of 2015).
    const spellings: Cohort[] = [
      base,
      { ...base, ageMin: 0 },
      { ...base, ageMax: 130 },
      { ...base, ageMin: 0, ageMax: 130 },
      { ...base, eventsFrom: '1900-01-01' },
      { ...base, eventsTo: '2099-12-31' },
      ...Array.from({ length: 10 }, (_, i) => ({ ...base, ageMax: 120 + i })),
    ];
    const outcomes: string[] = [];
    for (const cohort of spellings) {
      const rel = await runRelease(
        t,
        spec({
          bidId,
          tier: 'aggregate',
          legalBasis: 'none',
          datasets: [{ dataset: 'gp', fields: ['code'] }],
          aggregation: { dimensions: [] },
          cohort,
          recipients: [r.id],
          requestedBy: officer.id,
        }),
        officer,
      );
      outcomes.push(rel.state);
      // A refusal is the minimum population's, nothing else.
      if (rel.state === 'failed') expect(rel.failure_reason).toMatch(/too few persons behind it/);
    }
    // Today: a mix of 'completed' and 'failed' (AGG_POPULATION_TOO_SMALL) for one bid and one population.
    expect(new Set(outcomes).size).toBe(1);
  });
});
