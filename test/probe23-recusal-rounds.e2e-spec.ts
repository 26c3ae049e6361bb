import { createTestApp, TestApp } from '@custodian/testing';

type As = Awaited<ReturnType<TestApp['as']>>;

/**
 * Probe 23: SPEC §1 — "a panel member who declares a conflict … is recused and cannot vote on that
 * bid". The recusal is kept per review round only: once the bid is returned, resubmitted and
 * screened again, the member who declared a conflict on it votes again and is counted, and the
 * same member's conflict on the request is forgotten for its amendment.
 */
describe('probe 23: a declared conflict of interest lasts one review round', () => {
  let t: TestApp;
  let researcher: As;
  let officer: As;
  let conflicted: As;
  let panel: As[];

  beforeAll(async () => {
    t = await createTestApp({ PANEL_QUORUM: '3' });
    const centre = (await t.factory.organisation({ name: 'Centre', kind: 'public_body' })).id;
    researcher = await t.as('researcher');
    officer = await t.as('release_officer', { organisationId: centre });
    conflicted = await t.as('panel_member', { organisationId: centre });
    panel = [];
    for (let i = 0; i < 3; i++) panel.push(await t.as('panel_member', { organisationId: centre }));
  });
  afterAll(() => t?.close());

  const vote = (bidId: string, who: As, decision: string, conflictOfInterest: boolean) =>
    t.http
      .post(`/api/bids/${bidId}/votes`)
      .set(who.auth)
      .send({
        decision,
        conflictOfInterest,
        ...(conflictOfInterest ? { interests: 'I advise the applicant' } : {}),
      });

  it('a member recused for a declared conflict is not counted when the same bid comes back for review', async () => {
    const bidId = (await t.factory.bid('in_review', { researcher, officer })).id;
    // Round 1: the member declares a conflict with this request and is recused.
    const recused = await vote(bidId, conflicted, 'approve', true).expect(201);
    expect(recused.body).toMatchObject({ recused: true });
    for (const m of panel) await vote(bidId, m, 'return', false).expect(201);
    const returned = await t.http.get(`/api/bids/${bidId}`).set(researcher.auth).expect(200);
    expect(returned.body.state).toBe('returned');

    // The applicant resubmits the same request unchanged; it is screened into review again.
    await t.http.post(`/api/bids/${bidId}/submit`).set(researcher.auth).expect(200);
    await t.http
      .post(`/api/bids/${bidId}/screen`)
      .set(officer.auth)
      .send({ outcome: 'accept', remarks: 'again' })
      .expect(200);

    // Round 2: the member who declared the conflict votes, and the vote counts towards the decision.
    const res = await vote(bidId, conflicted, 'approve', false);
    const counted = res.status === 201 && res.body.recused === false;
    expect({ status: res.status, counted }).toEqual({ status: expect.any(Number), counted: false });
  });

  it("a member recused on the request is not counted on the same request's amendment", async () => {
    const bid = await t.factory.bid('in_review', { researcher, officer });
    await vote(bid.id, conflicted, 'approve', true).expect(201);
    for (const m of panel) await vote(bid.id, m, 'approve', false).expect(201);
    await t.http.post(`/api/bids/${bid.id}/agreement/accept`).set(researcher.auth).expect(200);

    await t.http
      .post(`/api/bids/${bid.id}/amendments`)
      .set(researcher.auth)
      .send({
        reason: 'We also need the sex of each patient',
        datasets: [{ dataset: 'gp', fields: ['nhs_number', 'date_of_birth', 'sex', 'code', 'event_date'] }],
      })
      .expect(201);
    await t.http.post(`/api/bids/${bid.id}/amendments/2/submit`).set(researcher.auth).expect(200);
    await t.http
      .post(`/api/bids/${bid.id}/amendments/2/screen`)
      .set(officer.auth)
      .send({ outcome: 'accept', remarks: 'widens' })
      .expect(200);
    const res = await t.http
      .post(`/api/bids/${bid.id}/amendments/2/votes`)
      .set(conflicted.auth)
      .send({ decision: 'approve', conflictOfInterest: false });
    const counted = res.status === 201 && res.body.recused === false;
    expect({ status: res.status, counted }).toEqual({ status: expect.any(Number), counted: false });
  });
});
