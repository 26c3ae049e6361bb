import { createTestApp, TestApp, TEST_PASSWORD } from '@custodian/testing';

/**
 * Probe 32: the published document types `practiceOds` of `POST /api/users` and `rollout` of
 * `POST /api/practices` as strings (not nullable), and the project's rule is that an optional
 * property may be left out, never sent as null (`IsOmittable`, libs/core/src/validation.ts). Both
 * took `null` with 201: a request the document calls invalid was carried out.
 */
describe('probe 32: null where the document allows only a string', () => {
  let t: TestApp;
  let admin: Awaited<ReturnType<TestApp['as']>>;
  beforeAll(async () => {
    t = await createTestApp();
    admin = await t.as('admin');
  });
  afterAll(() => t?.close());

  it('POST /api/users with practiceOds null is 400, and no user is created', async () => {
    const email = `probe32-null-${Date.now()}@example.org`;
    const res = await t.http
      .post('/api/users')
      .set(admin.auth)
      .send({
        email,
        password: TEST_PASSWORD,
        displayName: 'Null Practice',
        roles: ['auditor'],
        practiceOds: null,
      });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED' });
    const { rows } = await t.sql.query('SELECT 1 FROM users WHERE email = $1', [email]);
    expect(rows).toHaveLength(0);
  });

  it('POST /api/practices with rollout null is 400, and no practice is created', async () => {
    const res = await t.http
      .post('/api/practices')
      .set(admin.auth)
      .send({ odsCode: 'P32001', name: 'Null Rollout Surgery', rollout: null });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED' });
    await t.http.get('/api/practices/P32001').set(admin.auth).expect(404);
  });
});
