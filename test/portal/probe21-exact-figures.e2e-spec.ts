import { createTestApp, TestApp } from '@custodian/testing';
import { PortalSession, portalSignIn } from '../support/portal-session';
import { addEvent, addObjection, addPatient, seedPractice } from '../release-helpers';

/**
 * probe-21, finding 1: a researcher of the applicant organisation who also holds the release officer
 * role reads, on the officer's release page, the exact figures of their own organisation's release
 * (how many Type 2 objectors were left out, and the manifest's exact counts). SPEC §5 step 4: "Counts
 * of persons that a researcher sees anywhere (manifest, failure reasons, reports) follow the
 * aggregate rule"; SPEC §1: nobody acts as release officer on a bid of their own organisation. The
 * bids API already says "the applicant never [sees internals], whatever other roles they hold"
 * (`seesInternals`); the release API's `readsExact` looks at roles only.
 */
const text = (html: string) =>
  html
    .replace(/<script[\s\S]*?<\/script>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;|\s+/g, ' ');

describe('probe-21: exact release figures reach a member of the applicant organisation', () => {
  let t: TestApp;
  let releaseId = '';
  let bidId = '';
  let dual: PortalSession;
  let dualToken = '';

  beforeAll(async () => {
    t = await createTestApp({ PANEL_QUORUM: '1' });
    const centre = (await t.factory.organisation({ name: 'Centre', kind: 'public_body' })).id;
    const leeds = (await t.factory.organisation({ name: 'University of Leeds', kind: 'academic' })).id;
    const researcher = await t.as('researcher', { organisationId: leeds });
    const officer = await t.as('release_officer', { organisationId: centre });
    const member = await t.as('panel_member', { organisationId: centre });
    await seedPractice(t.sql);
    for (let i = 0; i < 6; i++) {
      const id = await addPatient(t.sql, { nhs: String(9_300_000_000 + i) });
      await addEvent(t.sql, id);
    }
    // One patient with a Type 2 objection: the release leaves them out (exactly one person).
    await addObjection(t.sql, String(9_300_000_000 + 5), 'type2');
    const bid = await t.factory.bid('active', {
      researcher,
      officer,
      panel: [member],
      body: { title: 'Statins in Leeds' },
    });
    bidId = bid.id;
    const r = await t.http.post(`/api/bids/${bid.id}/releases`).set(officer.auth).send({}).expect(202);
    releaseId = r.body.id;
    let state = '';
    for (let i = 0; i < 300 && !['completed', 'failed'].includes(state); i++) {
      state = (await t.http.get(`/api/releases/${releaseId}`).set(officer.auth).expect(200)).body.state;
      if (state !== 'completed') await new Promise((res) => setTimeout(res, 100));
    }
    expect(state).toBe('completed');
    // A researcher of the applicant organisation who is also a release officer (SPEC §1: a user may
    // hold several roles; nothing refuses this pair).
    const u = await t.factory.user({ roles: ['researcher', 'release_officer'], organisationId: leeds });
    dual = await portalSignIn(t, u.email, '/data-releases');
    dualToken = await t.login(u.email);
  }, 180_000);
  afterAll(() => t?.close());

  it('the release page of their own organisation’s release shows no exact count of objectors left out', async () => {
    const res = await t.http.get(`/data-releases/${releaseId}`).set('cookie', dual.cookie);
    // Either not theirs to read (404, like the panel's rule for one's own organisation), or read
    // under the aggregate rule: never "1 person" left out for a Type 2 objection.
    if (res.status === 200) {
      expect(text(res.text)).not.toMatch(/Type 2 objection: 1 person/);
      expect(text(res.text)).not.toMatch(/Exact figures, for staff only/);
    } else expect(res.status).toBe(404);
  });

  it('the API gives them no exact exclusions either', async () => {
    const res = await t.http.get(`/api/releases/${releaseId}`).set({ Authorization: `Bearer ${dualToken}` });
    if (res.status === 200) {
      expect(res.body.excluded).toBeUndefined();
      expect(res.body.manifest).toBeUndefined();
    } else expect(res.status).toBe(404);
  });

  it('(control) their own request page keeps to the aggregate rule', async () => {
    const res = await t.http.get(`/requests/${bidId}`).set('cookie', dual.cookie).expect(200);
    expect(text(res.text)).not.toMatch(/Type 2 objection: 1 person/);
  });
});
