import { BID_STAGES, createTestApp, TestApp } from '@custodian/testing';

describe('test factories', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ PANEL_QUORUM: '3', RUN_WORKER: 'false' });
  });
  afterAll(() => t?.close());

  it.each(BID_STAGES)('factory.bid(%s) leaves the bid in that state', async (stage) => {
    const bid = await t.factory.bid(stage, { body: { title: `A ${stage} bid` } });
    const res = await t.http.get(`/api/bids/${bid.id}`).set(bid.researcher.auth).expect(200);
    expect(res.body).toMatchObject({ state: stage, title: `A ${stage} bid` });
    if (stage === 'active') expect(res.body.agreement).toMatchObject({ status: 'active' });
  });
});
