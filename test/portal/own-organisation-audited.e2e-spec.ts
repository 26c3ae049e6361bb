import { createTestApp, TestApp } from '@custodian/testing';
import { PortalSession, portalSignIn } from '../support/portal-session';

/**
 * SPEC §6: authorisation denials are audited. The portal answers a reviewer of the applicant
 * organisation itself (own-organisation.ts), without the API call whose 403 the API records as
 * `access.denied`: a vote, a screening or a release sent anyway through the portal left no entry on
 * the audit trail. Each now leaves one, as the API's refusal would, marked as the portal's.
 */
describe('refusals to reviewers of the applicant organisation are audited', () => {
  let t: TestApp;
  let researcher: Awaited<ReturnType<TestApp['as']>>;
  let centreOfficer: Awaited<ReturnType<TestApp['as']>>;
  let member: PortalSession;
  let officer: PortalSession;
  let memberId: string;
  let officerId: string;
  const post = (s: PortalSession, path: string, form: Record<string, unknown>) =>
    t.http
      .post(path)
      .set('cookie', s.cookie)
      .type('form')
      .send({ _csrf: s.csrf, ...form });
  /** Denials of `actor` on `bidId`, chained or still counted. */
  const denied = async (actor: string, bidId: string) => {
    const chained = await t.sql.query(
      `SELECT details FROM audit_log WHERE action = 'access.denied' AND actor_id = $1 AND bid_id = $2`,
      [actor, bidId],
    );
    const pending = await t.sql.query(
      `SELECT details FROM audit_denials WHERE action = 'access.denied' AND actor_id = $1 AND bid_id = $2 AND pending > 0`,
      [actor, bidId],
    );
    return [...chained.rows, ...pending.rows].map((r) => r.details as Record<string, unknown>);
  };

  beforeAll(async () => {
    t = await createTestApp({ PANEL_QUORUM: '2' });
    const centre = (await t.factory.organisation({ name: 'Centre', kind: 'public_body' })).id;
    const trust = (await t.factory.organisation({ name: 'Leeds Teaching Hospitals', kind: 'nhs' })).id;
    researcher = await t.as('researcher', { organisationId: trust });
    centreOfficer = await t.as('release_officer', { organisationId: centre });
    const m = await t.factory.user({ roles: ['panel_member'], organisationId: trust });
    memberId = m.id;
    member = await portalSignIn(t, m.email, '/panel');
    const o = await t.factory.user({ roles: ['release_officer'], organisationId: trust });
    officerId = o.id;
    officer = await portalSignIn(t, o.email, '/screening');
  }, 120_000);
  afterAll(() => t?.close());

  it('a vote sent through the portal on the own organisation’s request', async () => {
    const bid = await t.factory.bid('in_review', { researcher, officer: centreOfficer });
    const res = await post(member, `/panel/${bid.id}/vote`, {
      conflictOfInterest: 'no',
      decision: 'approve',
    });
    expect(res.status).toBe(403);
    expect(await denied(memberId, bid.id)).toEqual([
      expect.objectContaining({ route: '/api/bids/:id/votes', status: 403, code: 'RECUSED', via: 'portal' }),
    ]);
  });

  it('a screening sent through the portal on the own organisation’s request', async () => {
    const bid = await t.factory.bid('submitted', { researcher });
    const res = await post(officer, `/screening/${bid.id}`, {
      outcome: 'return',
      remarks: 'Say which wards.',
    });
    expect(res.status).toBe(403);
    expect(await denied(officerId, bid.id)).toEqual([
      expect.objectContaining({
        route: '/api/bids/:id/screen',
        code: 'SEGREGATION_OF_DUTIES',
        via: 'portal',
      }),
    ]);
  });

  it('a release asked for through the portal on the own organisation’s active request', async () => {
    const c = centreOfficer.user.organisationId!;
    const bid = await t.factory.bid('active', {
      researcher,
      officer: centreOfficer,
      panel: [
        await t.as('panel_member', { organisationId: c }),
        await t.as('panel_member', { organisationId: c }),
      ],
    });
    const res = await post(officer, '/data-releases', { bidId: bid.id });
    expect(res.status).toBe(403);
    expect(await denied(officerId, bid.id)).toEqual([
      expect.objectContaining({
        route: '/api/bids/:id/releases',
        code: 'SEGREGATION_OF_DUTIES',
        via: 'portal',
      }),
    ]);
  });
});
