import { createTestApp, TestApp } from '@custodian/testing';
import { portalSignIn } from '../support/portal-session';

/**
 * The portal's lists of requests read every page of the API's (at most 200 a page): the list
 * showed the first 200 and no more, so an organisation's 201st request could not be found in the
 * portal (a helper's sweep of the lists, 2026-12-07).
 */
describe('portal: lists longer than one API page', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  it("the researcher's requests list shows every request of the organisation, past the first 200", async () => {
    const researcher = await t.as('researcher');
    const oldest = await t.factory.bid('draft', { researcher, body: { title: 'The oldest request' } });
    // 230 newer drafts: copies of that bid (taking each through the API would take minutes).
    await t.sql.query(
      `INSERT INTO bids
       SELECT (jsonb_populate_record(NULL::bids, to_jsonb(b) || jsonb_build_object(
                'id', gen_random_uuid(), 'title', 'Copy ' || g,
                'created_at', b.created_at + g * interval '1 second'))).*
         FROM bids b, generate_series(1, 230) g WHERE b.id = $1`,
      [oldest.id],
    );
    const session = await portalSignIn(t, researcher.user.email, '/requests');
    const page = await t.http.get('/requests').set('cookie', session.cookie).expect(200);
    expect(page.text).toContain('The oldest request');
    expect(page.text).toContain(`/requests/${oldest.id}`);
    expect(page.text.match(/Copy \d+/g)?.length).toBe(230);
  });
});
