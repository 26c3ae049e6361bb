import { AddressInfo } from 'node:net';
import { createTestApp, TestApp } from '@custodian/testing';

/**
 * JSON bodies are UTF-8 (RFC 8259 §8.1), as every upload is: a body declared in another charset is
 * 415, invalid UTF-8 is 400 INVALID_JSON, and nothing is stored altered. `charset=iso-8859-1` and
 * plain invalid bytes were read as UTF-8 with U+FFFD and stored (an outsider's probe, 2026-12-07).
 */
describe('JSON bodies are UTF-8', () => {
  let t: TestApp;
  let admin: { Authorization: string };
  beforeAll(async () => {
    t = await createTestApp();
    admin = (await t.as('admin')).auth;
    await t.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => t?.close());

  // The bytes as they are (supertest would serialise a Buffer as JSON of its bytes).
  const post = async (type: string, body: Buffer) => {
    const { port } = t.app.getHttpServer().address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/api/organisations`, {
      method: 'POST',
      headers: { ...admin, 'content-type': type },
      body,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const names = async () =>
    (await t.sql.query(`SELECT name FROM organisations WHERE name LIKE 'Caf%'`)).rows.map((r) => r.name);

  it('refuses another charset (415) and invalid bytes (400), storing nothing; UTF-8 with or without its charset or a BOM is taken', async () => {
    const latin1 = Buffer.from('{"name":"Caf\xe9 Latin","kind":"charity"}', 'latin1');
    for (const type of [
      'application/json; charset=iso-8859-1',
      'application/json; charset=utf-16',
      'application/json;charset="bogus"',
    ]) {
      const res = await post(type, latin1);
      expect(res.status, type).toBe(415);
      expect(res.body).toMatchObject({
        code: 'UNSUPPORTED_MEDIA_TYPE',
        message: expect.stringContaining('UTF-8'),
      });
    }
    const bad = await post('application/json', latin1);
    expect(bad.status).toBe(400);
    expect(bad.body, JSON.stringify(bad.body)).toMatchObject({ code: 'INVALID_JSON' });
    expect(await names()).toEqual([]);
    const one = await post(
      'application/json; charset=UTF-8',
      Buffer.from('{"name":"Café One","kind":"charity"}'),
    );
    expect(one.status).toBe(201);
    const two = await post('application/json', Buffer.from('\ufeff{"name":"Café Two","kind":"charity"}'));
    expect(two.status).toBe(201);
    expect((await names()).sort()).toEqual(['Café One', 'Café Two']);
    // US-ASCII is UTF-8; a charset inside another parameter's quoted value is no charset; a request
    // without a body is not refused for its charset (a review).
    for (const [type, name] of [
      ['application/json; charset=us-ascii', 'Cafe Three'],
      ['application/json; profile="a;charset=latin1"', 'Cafe Four'],
    ])
      expect((await post(type, Buffer.from(`{"name":"${name}","kind":"charity"}`))).status, type).toBe(201);
    const session = await t.as('researcher');
    await t.http
      .post('/api/auth/logout')
      .set(session.auth)
      .set('content-type', 'application/json; charset=iso-8859-1')
      .expect(204);
  });
});
