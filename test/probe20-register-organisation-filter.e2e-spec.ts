import { createTestApp, TestApp } from '@custodian/testing';

/**
 * Probe 20, finding 3: the public register's `organisation` filter is documented as "Organisation
 * name (contains) or id" (docs/openapi.json, GET /api/register), but the text is put into an
 * ILIKE pattern unescaped (`l.organisation ILIKE '%' || ? || '%'`, libs/register/src/register.service.ts),
 * so `%` and `_` are wildcards: `?organisation=%` and `?organisation=_` return every line of the
 * register, and `?organisation=Probe20_Alpha` returns the lines of "Probe20 Alpha Research" —
 * names that contain neither character.
 */
describe('probe 20: the public register filtered by organisation name', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
    const org = await t.factory.organisation({ name: 'Probe20 Alpha Research' });
    const researcher = await t.as('researcher', { organisationId: org.id });
    await t.factory.bid('approved', { researcher });
  });
  afterAll(() => t?.close());

  const lines = async (organisation: string) => {
    const res = await t.http.get('/api/register').query({ organisation }).expect(200);
    return (res.body as { organisation: string }[]).map((l) => l.organisation);
  };

  it('the approved bid is on the register, found by a part of its name', async () => {
    expect(await lines('Alpha Research')).toEqual(['Probe20 Alpha Research']);
  });

  it('"%" and "_" are characters of the name looked for, not wildcards', async () => {
    const found = {
      '%': await lines('%'),
      _: await lines('_'),
      Probe20_Alpha: await lines('Probe20_Alpha'),
      'Alpha%Research': await lines('Alpha%Research'),
    };
    expect(found).toEqual({ '%': [], _: [], Probe20_Alpha: [], 'Alpha%Research': [] });
  });
});
