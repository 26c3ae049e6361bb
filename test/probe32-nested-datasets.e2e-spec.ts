import { createTestApp, TestApp } from '@custodian/testing';
import { BID_BODY } from '../libs/testing/src/bids';

/**
 * Probe 32: `datasets` is an array of objects (DatasetRequestDto in the published document), but an
 * array of arrays passed validation — class-validator's `ValidateNested({ each: true })` validates
 * the elements of a nested array as if they were the array's own — and reached the service, which
 * answered `400 UNKNOWN_DATASET` "Unknown dataset undefined", not the `VALIDATION_FAILED` of every
 * other body the document refuses. The same rule serves a bid's edit and an amendment's body.
 */
describe('probe 32: datasets given as an array of arrays', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  const nested = [[{ dataset: 'gp', fields: ['nhs_number', 'code'] }]];

  const refusedAsInvalid = (res: { status: number; body: Record<string, unknown> }) => {
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(String(res.body.message)).not.toContain('undefined');
  };

  it('is refused as a validation failure when a bid is created or edited', async () => {
    const researcher = await t.as('researcher');
    for (const datasets of [nested, [[]]])
      refusedAsInvalid(
        await t.http
          .post('/api/bids')
          .set(researcher.auth)
          .send({ ...BID_BODY, datasets }),
      );
    const draft = await t.factory.bid('draft', { researcher });
    refusedAsInvalid(
      await t.http.patch(`/api/bids/${draft.id}`).set(researcher.auth).send({ datasets: nested }),
    );
  });

  it('is refused as a validation failure in an amendment', async () => {
    const active = await t.factory.bid('active');
    refusedAsInvalid(
      await t.http
        .post(`/api/bids/${active.id}/amendments`)
        .set(active.researcher.auth)
        .send({ reason: 'The study needs the codes only.', datasets: nested }),
    );
  });
});
