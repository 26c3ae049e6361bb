import { createTestApp, TestApp } from '@custodian/testing';
import { PortalSession, portalSignIn } from '../support/portal-session';

/**
 * probe-21, finding 7: three free-text boxes of the portal store control characters and invisible
 * text, which the same forms' sibling boxes refuse since closing note 12 ("a return's remarks, a
 * revocation's reason, a vote's condition, an amendment's reason … accepted blanks or control
 * characters"): the reason for withdrawing a request (`RemarksDto`, read by the reviewers in the
 * timeline and the audit), the officer's notes for the panel (`ScreenBidDto.notes`) and the panel
 * member's declared interests (`VoteDto.interests`). A terminal escape, a bell, a right-to-left
 * override go into the record as typed.
 */
const BAD = 'Funding ended\u0007\u001b[2J\u202egnidnuf';
/** Whether any of BAD's hostile characters was stored. */
const hostile = (s: string) => ['\u0007', '\u001b', '\u202e'].some((c) => s.includes(c));

describe('probe-21: free text with control characters is stored by three forms', () => {
  let t: TestApp;
  let researcher: Awaited<ReturnType<TestApp['as']>>;
  let centre = '';
  const post = (s: PortalSession, path: string, form: Record<string, unknown>) =>
    t.http
      .post(path)
      .set('cookie', s.cookie)
      .type('form')
      .send({ _csrf: s.csrf, ...form });
  const stored = async (bidId: string) =>
    (
      await t.sql.query(
        `SELECT coalesce(remarks, '') || coalesce(internal_notes, '') || coalesce(details::text, '') AS s
           FROM bid_events WHERE bid_id = $1`,
        [bidId],
      )
    ).rows
      .map((r) => r.s as string)
      .join('\n');

  beforeAll(async () => {
    t = await createTestApp({ PANEL_QUORUM: '2' });
    centre = (await t.factory.organisation({ name: 'Centre', kind: 'public_body' })).id;
    researcher = await t.as('researcher');
  }, 120_000);
  afterAll(() => t?.close());

  it('(control) the screening remarks refuse them', async () => {
    const o = await t.factory.user({ roles: ['release_officer'], organisationId: centre });
    const officer = await portalSignIn(t, o.email, '/screening');
    const bid = await t.factory.bid('submitted', { researcher });
    const res = await post(officer, `/screening/${bid.id}`, { outcome: 'return', remarks: BAD });
    expect(res.status).toBe(400);
  });

  it('the reason for withdrawing a request', async () => {
    const me = await portalSignIn(t, (researcher.user as unknown as { email: string }).email, '/requests');
    const bid = await t.factory.bid('submitted', { researcher });
    const res = await post(me, `/requests/${bid.id}/withdraw`, { remarks: BAD });
    expect(res.status).toBe(400);
    expect(hostile(await stored(bid.id))).toBe(false);
  });

  it('the officer’s notes for the panel', async () => {
    const o = await t.factory.user({ roles: ['release_officer'], organisationId: centre });
    const officer = await portalSignIn(t, o.email, '/screening');
    const bid = await t.factory.bid('submitted', { researcher });
    const res = await post(officer, `/screening/${bid.id}`, { outcome: 'accept', notes: BAD });
    expect(res.status).toBe(400);
    expect(hostile(await stored(bid.id))).toBe(false);
  });

  it('the interests a panel member declares', async () => {
    const m = await t.factory.user({ roles: ['panel_member'], organisationId: centre });
    const member = await portalSignIn(t, m.email, '/panel');
    const bid = await t.factory.bid('in_review', { researcher });
    const res = await post(member, `/panel/${bid.id}/vote`, {
      conflictOfInterest: 'yes',
      decision: 'approve',
      interests: BAD,
    });
    expect(res.status).toBe(400);
    const { rows } = await t.sql.query(`SELECT count(*)::int AS n FROM bid_votes WHERE bid_id = $1`, [
      bid.id,
    ]);
    expect(rows[0].n).toBe(0);
  });
});
