import { createTestApp, TestApp } from '@custodian/testing';
import { screenedAmendment } from './support/amendment-releases';
import { type As, reviewers } from './support/reviewers';

/**
 * Probe 23: the panel returns an amendment "for changes", each member saying what to change (a
 * return vote's conditions). A bid's return hands those texts to the applicant in the return's
 * remarks (test/bids.e2e-spec.ts: "a walk-through: it was dropped"); an amendment's return drops
 * them: the applicant reads only "Amendment returned by the panel for changes", and no answer they
 * can read carries what the panel asked for.
 */
describe("probe 23: an amendment's return by the panel loses what the members asked for", () => {
  let t: TestApp;
  let researcher: As;
  let officer: As;
  let panel: As[];

  beforeAll(async () => {
    t = await createTestApp({ PANEL_QUORUM: '3' });
    ({ researcher, officer, panel } = await reviewers(t));
  });
  afterAll(() => t?.close());

  it('the applicant reads the returning members’ requests in the return’s remarks', async () => {
    const bidId = (await t.factory.bid('active', { researcher, officer, panel })).id;
    await screenedAmendment(
      t,
      bidId,
      { researcher, officer },
      {
        reason: 'We also need the sex of each patient',
        datasets: [{ dataset: 'gp', fields: ['nhs_number', 'date_of_birth', 'sex', 'code', 'event_date'] }],
      },
      'accept',
    );
    const asks = ['Say why sex is needed for this study', 'Drop dates of birth in exchange'];
    for (const [i, m] of panel.entries()) {
      const res = await t.http
        .post(`/api/bids/${bidId}/amendments/2/votes`)
        .set(m.auth)
        .send({ decision: 'return', conditions: [asks[i % 2]], conflictOfInterest: false })
        .expect(201);
      if (i === 2) expect(res.body.amendmentState).toBe('returned');
    }

    const events = (await t.http.get(`/api/bids/${bidId}/events`).set(researcher.auth).expect(200)).body as {
      action: string;
      remarks: string | null;
    }[];
    const returned = events.find((e) => e.action === 'amend_decide_return');
    expect(returned).toBeDefined();
    // As for a bid's return (panel.service.ts): the texts, not who asked.
    expect(returned!.remarks).toContain(asks[0]);
    expect(returned!.remarks).toContain(asks[1]);
  });
});
