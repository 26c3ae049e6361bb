import { createTestApp, TestApp } from '@custodian/testing';
import { postForm, signInAs } from '../support/portal-session';

/**
 * probe-24, finding 2: the panel's vote page on a pseudonymised request says "Unless every approving
 * panel member approves linkage, the agreement carries this condition: “No linkage: …”", but the
 * vote form has no way to approve linkage (the API's `approveLinkage` on `POST /api/bids/:id/votes`,
 * docs/governance.md), and a vote sent with `approveLinkage` from the portal drops it. A panel that
 * works in the portal can never lift the no-linkage condition: three approving members who all mean
 * to allow linkage get it on the agreement anyway.
 */
const NO_LINKAGE = /^No linkage:/;

describe('probe-24: approving linkage from the portal’s vote form', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  }, 120_000);
  afterAll(() => t?.close());

  const inReview = async () => {
    const reviewers = (await t.factory.organisation({ kind: 'public_body' })).id;
    const bid = await t.factory.bid('in_review', { body: { title: 'Linkage allowed by the panel' } });
    const panel = [];
    for (let i = 0; i < t.config.panelQuorum; i++)
      panel.push(await t.as('panel_member', { organisationId: reviewers }));
    return { bid, panel };
  };

  it('the vote page that names the condition offers the choice it names', async () => {
    const { bid, panel } = await inReview();
    const me = await signInAs(t, panel[0], `/panel/${bid.id}`);
    const page = await t.http.get(`/panel/${bid.id}`).set('cookie', me.cookie).expect(200);
    expect(page.text).toContain('Unless every approving panel member approves linkage');
    expect(page.text).toMatch(/name="approveLinkage"/);
  });

  it('three members approving linkage in the portal lift the no-linkage condition', async () => {
    const { bid, panel } = await inReview();
    for (const member of panel) {
      const me = await signInAs(t, member, `/panel/${bid.id}`);
      const sent = await postForm(t, me, `/panel/${bid.id}/vote`, {
        conflictOfInterest: 'no',
        decision: 'approve',
        tier: 'pseudonymised',
        approveLinkage: 'yes',
      });
      expect(sent.status).toBe(303);
    }
    const after = await t.http.get(`/api/bids/${bid.id}`).set(bid.researcher.auth).expect(200);
    expect(after.body.state).toBe('approved');
    expect((after.body.conditions as string[]).filter((c) => NO_LINKAGE.test(c))).toEqual([]);
  });
});
