import { createTestApp, TestApp } from '@custodian/testing';

/**
 * Probe 32: the `{version}` path parameter of the amendment routes is documented as
 * `{type: integer, minimum: 1}`. The global ValidationPipe turned it into a number with `Number()`
 * before ParseIntPipe saw it, so `0x2`, `2e0`, `0b10`, `2.0`, `+2` and ` 2` all named version 2
 * (200, one amendment under many addresses), and `0` and `-1`, which the document rules out, were
 * looked up and answered 404 instead of 400.
 */
describe('probe 32: the amendment version in the path', () => {
  let t: TestApp;
  let bid: Awaited<ReturnType<TestApp['factory']['bid']>>;
  beforeAll(async () => {
    t = await createTestApp();
    bid = await t.factory.bid('active');
    await t.http
      .post(`/api/bids/${bid.id}/amendments`)
      .set(bid.researcher.auth)
      .send({ reason: 'The study runs for two years now.', durationMonths: 24 })
      .expect(201);
  });
  afterAll(() => t?.close());

  const get = (version: string) =>
    t.http.get(`/api/bids/${bid.id}/amendments/${version}`).set(bid.researcher.auth);

  it('the amendment is read by its decimal number', async () => {
    expect((await get('2')).body).toMatchObject({ bidId: bid.id, version: 2 });
  });

  it('a version that is not a decimal whole number of at least 1 is 400 VALIDATION_FAILED', async () => {
    const wrong: string[] = [];
    for (const version of ['0x2', '2e0', '0b10', '0o2', '2.0', '%2B2', '%202', '2%20', '0', '-1', '-0']) {
      const res = await get(version);
      if (res.status !== 400 || res.body.code !== 'VALIDATION_FAILED')
        wrong.push(`${version}: ${res.status}`);
    }
    expect(wrong).toEqual([]);
  });

  it('and on a write route too', async () => {
    const res = await t.http
      .post(`/api/bids/${bid.id}/amendments/0x2/submit`)
      .set(bid.researcher.auth)
      .send({});
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect((await get('2')).body).toMatchObject({ state: 'draft' });
  });
});
