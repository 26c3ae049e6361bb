import { createTestApp, TestApp } from '@custodian/testing';

/**
 * Probe 32: a practice's name (`POST /api/practices`, `PATCH /api/practices/:ods`) was checked for
 * length only and stored trimmed: a name of two spaces passed `minLength: 2` and was stored and
 * answered as "" (201 `{"name": ""}`), and control and text-direction characters were kept, where
 * an organisation's name and a bid's title refuse both (400 VALIDATION_FAILED).
 */
describe('probe 32: practice names', () => {
  let t: TestApp;
  let admin: Awaited<ReturnType<TestApp['as']>>;
  beforeAll(async () => {
    t = await createTestApp();
    admin = await t.as('admin');
  });
  afterAll(() => t?.close());

  const BAD = ['  ', '\u200b\u200b\u200b', 'Evil \u202eSurgery', 'Line\nBreak Surgery', 'Bell\u0007 Surgery'];

  it('a blank name, or one with control or text-direction characters, is refused when a practice is created', async () => {
    const accepted: string[] = [];
    let n = 0;
    for (const name of BAD) {
      const odsCode = `P3210${n++}`;
      const res = await t.http.post('/api/practices').set(admin.auth).send({ odsCode, name });
      if (res.status !== 400 || res.body.code !== 'VALIDATION_FAILED')
        accepted.push(`${JSON.stringify(name)}: ${res.status} ${JSON.stringify(res.body.name)}`);
    }
    expect(accepted).toEqual([]);
  });

  it('and when it is renamed; the name stays as it was', async () => {
    await t.http
      .post('/api/practices')
      .set(admin.auth)
      .send({ odsCode: 'P32200', name: 'Probe Surgery' })
      .expect(201);
    const accepted: string[] = [];
    for (const name of BAD) {
      const res = await t.http.patch('/api/practices/P32200').set(admin.auth).send({ name });
      if (res.status !== 400) accepted.push(`${JSON.stringify(name)}: ${res.status}`);
    }
    expect(accepted).toEqual([]);
    const now = await t.http.get('/api/practices/P32200').set(admin.auth).expect(200);
    expect(now.body.name).toBe('Probe Surgery');
  });
});
