import { randomUUID } from 'node:crypto';
import { createTestApp, TestApp } from '@custodian/testing';

/**
 * probe 38: the public statistics list, per completed release, the share of its population that
 * objections removed: `*` for 1-7 persons, but `0` for none. So `*` said "someone here objected",
 * and two releases of one request told anyone (no sign-in) what the recipient could not see in its
 * files: a pseudo_id gone from the second release, with the share turned from `0` to `*`, had
 * objected (not moved or died). The public risk report had the same `0` beside `*` (threat 210,
 * probe 27) and shows 0-7 alike as `*`; the statistics now do too.
 */
describe('probe 38: a release share removed by objections does not tell none from a few', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  it('shows a release that removed nobody as it shows one that removed one person', async () => {
    const researcher = await t.as('researcher');
    const officer = await t.as('release_officer');
    const bid = randomUUID();
    await t.sql.query(
      `INSERT INTO bids (id, organisation_id, created_by, state, title, purpose, public_benefit, legal_basis, requested_tier,
                         datasets, duration_months, recipients, created_at, submitted_at)
       VALUES ($1, $2, $3, 'active', 'Rare condition X', 'p', 'b', 's251', 'pseudonymised', '[]', 12, ARRAY[$3::uuid],
               '2026-01-01T10:00:00Z', '2026-01-01T10:00:00Z')`,
      [bid, researcher.user.organisationId, researcher.user.id],
    );
    // The same cohort of 40 released twice; between the two, one of them registered a Type 2
    // objection (as the engine records it: a reason is listed only when someone had it).
    for (const [at, excluded] of [
      ['2026-03-02T09:00:00Z', { persons: {}, included: 40 }],
      ['2026-04-01T09:00:00Z', { persons: { type2_objection: 1 }, included: 39 }],
    ] as const)
      await t.sql.query(
        `INSERT INTO releases (bid_id, state, tier, legal_basis, spec, requested_by, token_seed_enc, completed_at, excluded)
         VALUES ($1, 'completed', 'pseudonymised', 's251', '{}', $2, '\\x00', $3, $4)`,
        [bid, officer.user.id, at, JSON.stringify(excluded)],
      );
    const res = await t.http.get('/api/statistics?from=2026-03&to=2026-04').expect(200);
    const shares = res.body.months.map((m: { objectionShares: { removedShare: unknown }[] }) =>
      m.objectionShares.map((s) => s.removedShare),
    );
    // Before: [[0], ['*']].
    expect(shares).toEqual([['*'], ['*']]);
    const page = await t.http.get('/published-statistics?from=2026-03&to=2026-04').expect(200);
    expect(page.text).not.toMatch(/>0%</);
  });
});
