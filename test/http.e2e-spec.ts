import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createTestApp, TestApp } from '@custodian/testing';

describe('HTTP surface', () => {
  let t: TestApp;
  let admin: Awaited<ReturnType<TestApp['as']>>;
  beforeAll(async () => {
    t = await createTestApp();
    admin = await t.as('admin');
  });
  afterAll(() => t?.close());

  it('health answers liveness and database readiness without a login', async () => {
    const res = await t.http.get('/api/health').expect(200);
    expect(res.body).toEqual({ status: 'ok', database: 'up' });
  });

  it('gives every response a request id and security headers', async () => {
    const res = await t.http.get('/api/health');
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    // A client's id is never the request's id (it would forge correlation in the audit trail).
    const echoed = await t.http.get('/api/health').set('x-request-id', 'client-supplied-id-123');
    expect(echoed.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const junk = await t.http.get('/api/health').set('x-request-id', 'bad id with spaces');
    expect(junk.headers['x-request-id']).not.toBe('bad id with spaces');
  });

  it('answers unknown routes with the error body', async () => {
    const res = await t.http.get('/api/nowhere').expect(404);
    expect(res.body).toEqual({
      statusCode: 404,
      error: 'Not Found',
      message: expect.any(String),
      code: 'NOT_FOUND',
    });
  });

  it('413 for an oversized JSON body, 415 for a wrong content type, 400 for broken JSON', async () => {
    const big = await t.http
      .post('/api/organisations')
      .set(admin.auth)
      .set('content-type', 'application/json')
      .send(JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024), kind: 'nhs' }));
    expect(big.status).toBe(413);
    expect(big.body.code).toBe('PAYLOAD_TOO_LARGE');
    const xml = await t.http
      .post('/api/organisations')
      .set(admin.auth)
      .set('content-type', 'application/xml')
      .send('<x/>');
    expect(xml.status).toBe(415);
    expect(xml.body).toMatchObject({ statusCode: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    const broken = await t.http
      .post('/api/organisations')
      .set(admin.auth)
      .set('content-type', 'application/json')
      .send('{"name":');
    expect(broken.status).toBe(400);
    expect(broken.body.code).toBe('INVALID_JSON');
    expect(JSON.stringify(broken.body)).not.toMatch(/at .*\.js|SyntaxError/);
  });

  it('publishes the OpenAPI document and Swagger UI', async () => {
    const doc = await t.http.get('/api/docs-json').expect(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(['/api/auth/login', '/api/users/{id}', '/api/audit/verify']),
    );
    await t.http.get('/api/docs').expect(200);
  });

  it('the checked-in docs/openapi.json is the document the service publishes', async () => {
    // For clients who read the contract without running the service. After an API change:
    // UPDATE_OPENAPI=1 npx vitest run test/http
    const doc = (await t.http.get('/api/docs-json').expect(200)).body;
    const file = path.join(__dirname, '..', 'docs', 'openapi.json');
    if (process.env.UPDATE_OPENAPI) writeFileSync(file, JSON.stringify(doc, null, 2) + '\n');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(doc);
  });
});
