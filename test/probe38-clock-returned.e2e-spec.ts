import { randomUUID } from 'node:crypto';
import { createTestApp, TestApp } from '@custodian/testing';
import { TransparencyService } from '@custodian/transparency';

/**
 * probe 38: a request's clock is `overdue` when "a target passed while the request waits on the
 * centre" (its published meaning, `ClockDto.overdue`). A request returned to its applicant waits on
 * the applicant, not the centre; yet once 60 days had passed since its first submission its clock
 * said overdue (the total's decision target counted in every undecided state, `returned` included),
 * on the applicant's request page and in the officers' and panel's views: the centre's record read
 * late for time the applicant held the request. The total's target is still shown (the figure is
 * the whole wait); only the flag follows who the request waits on.
 */
describe('probe 38: a returned request is not overdue against the centre', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  it('a request returned to its applicant past the decision target is not overdue', async () => {
    const researcher = await t.as('researcher');
    const id = randomUUID();
    await t.sql.query(
      `INSERT INTO bids (id, organisation_id, created_by, state, title, purpose, public_benefit, legal_basis, requested_tier,
                         datasets, duration_months, recipients, created_at, submitted_at)
       VALUES ($1, $2, $3, 'returned', 'Returned request', 'p', 'b', 's251', 'pseudonymised', '[]', 12,
               ARRAY[$3::uuid], '2026-01-01T10:00:00Z', '2026-01-02T09:00:00Z')`,
      [id, researcher.user.organisationId, researcher.user.id],
    );
    for (const [at, from, to] of [
      ['2026-01-02T09:00:00Z', 'draft', 'submitted'],
      ['2026-01-09T09:00:00Z', 'submitted', 'in_review'],
      ['2026-02-20T09:00:00Z', 'in_review', 'returned'],
    ])
      await t.sql.query(
        `INSERT INTO bid_events (bid_id, at, action, from_state, to_state) VALUES ($1, $2, 'change', $3, $4)`,
        [id, at, from, to],
      );
    const svc = t.app.get(TransparencyService);
    const principal = researcher.user as never;
    // Returned on 20 February (49 days after the submission), read on 1 April (89 days).
    const clock = await svc.clock(principal, id, new Date('2026-04-01T09:00:00Z'));
    expect(clock.state).toBe('returned');
    expect(clock.total.target).toMatchObject({ name: 'decision', limit: 60 });
    // Before: true.
    expect(clock.overdue).toBe(false);
  });
});
