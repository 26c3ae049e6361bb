import { createTestApp, TestApp } from '@custodian/testing';
import { BID_BODY } from '../libs/testing/src/bids';

/**
 * Probe 32's open question: `cohort.practices: []` was accepted, and SPEC §4 gives it no meaning
 * ("every cohort key is optional (absent = no restriction)"). Stored, it selected nobody — the release
 * was empty — while the engine's plan read it as no restriction. An empty list of practices, postcode
 * areas or condition codes is now refused as a validation failure that says what to do; the same
 * rule serves a bid's creation, its edit and an amendment. Failed before (201 on each).
 */
describe('probe 32: a cohort list sent empty', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  const refused = (res: { status: number; body: Record<string, unknown> }, key: string) => {
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(String(res.body.message)).toContain(`${key} must list at least one value, or be left out`);
  };

  it('is refused when a bid is created or edited, and left out it still means no restriction', async () => {
    const researcher = await t.as('researcher');
    for (const key of ['practices', 'postcodeAreas', 'conditionCodes'])
      refused(
        await t.http
          .post('/api/bids')
          .set(researcher.auth)
          .send({ ...BID_BODY, cohort: { [key]: [] } }),
        key,
      );
    const draft = await t.factory.bid('draft', { researcher });
    refused(
      await t.http
        .patch(`/api/bids/${draft.id}`)
        .set(researcher.auth)
        .send({ cohort: { practices: [] } }),
      'practices',
    );
    const open = await t.http.patch(`/api/bids/${draft.id}`).set(researcher.auth).send({ cohort: {} });
    expect(open.status).toBe(200);
    expect(open.body.cohort).toEqual({});
  });

  it('is refused in an amendment', async () => {
    const active = await t.factory.bid('active');
    refused(
      await t.http
        .post(`/api/bids/${active.id}/amendments`)
        .set(active.researcher.auth)
        .send({ reason: 'All practices after all.', cohort: { conditionCodes: [] } }),
      'conditionCodes',
    );
  });
});
