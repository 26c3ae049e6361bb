import { createTestApp, TestApp } from '@custodian/testing';
import { loadConfig } from '@custodian/core';

/** Who may read the API's documentation (API_DOCS; SECURITY.md): production's default is signed-in users. */
describe('API_DOCS', () => {
  it('defaults to authenticated in production and public elsewhere; refuses other values', () => {
    const secrets = {
      JWT_SECRET: 'x'.repeat(40),
      PSEUDONYM_KEY_SECRET: 'y'.repeat(40),
      DATABASE_URL: 'postgres://u@localhost/db',
    };
    expect(loadConfig({ NODE_ENV: 'production', ...secrets }).apiDocs).toBe('authenticated');
    expect(loadConfig({ NODE_ENV: 'test', ...secrets }).apiDocs).toBe('public');
    expect(() => loadConfig({ NODE_ENV: 'test', API_DOCS: 'everyone', ...secrets })).toThrow(/API_DOCS/);
  });

  describe('authenticated', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ API_DOCS: 'authenticated' });
    });
    afterAll(() => t?.close());

    it('answers 401 without a signed-in user, and the document with one', async () => {
      for (const path of [
        '/api/docs-json',
        '/api/docs',
        '/api/docs/',
        '/api/%64ocs-json',
        '/api/docs-json?x=1',
      ]) {
        const res = await t.http.get(path);
        expect(res.status, path).toBe(401);
        expect(res.body.code).toBe('AUTHENTICATION_REQUIRED');
      }
      await t.http.get('/api/docs-json').set('Authorization', 'Bearer not.a.token').expect(401);
      const { auth } = await t.as('researcher');
      const doc = await t.http.get('/api/docs-json').set(auth).expect(200);
      expect(doc.body.openapi).toMatch(/^3\./);
      // The rest of the API is unaffected.
      await t.http.get('/api/health').expect(200);
    });
  });

  describe('off', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ API_DOCS: 'off' });
    });
    afterAll(() => t?.close());

    it('serves no documentation at all', async () => {
      const { auth } = await t.as('admin');
      await t.http.get('/api/docs-json').set(auth).expect(404);
      await t.http.get('/api/docs').set(auth).expect(404);
    });
  });
});
