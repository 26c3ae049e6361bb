import { connect, type AddressInfo } from 'node:net';
import request from 'supertest';
import { createTestApp, OpenApiContract, type OpenApiDocument, TestApp } from '@custodian/testing';

/**
 * Probe 32: two answers Node's HTTP server wrote itself, never reaching the service, with no body
 * at all — not the error contract (`{statusCode, error, message, code}`, SPEC §7) nor a status the
 * document declares:
 * - an HTTP/1.1 request without a Host header: `400` with an empty chunked body;
 * - an `Expect` other than `100-continue`: `417 Expectation Failed`, empty, a status no operation
 *   declares (RFC 9110 §10.1.1 lets a server answer 417; it need not, and the service does not).
 */
describe('probe 32: what Node answered before the service saw the request', () => {
  let t: TestApp;
  let port: number;
  let contract: OpenApiContract;
  beforeAll(async () => {
    t = await createTestApp();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.getHttpServer().address() as AddressInfo).port;
    const doc = (await request(t.app.getHttpServer()).get('/api/docs-json').expect(200)).body;
    contract = new OpenApiContract(doc as OpenApiDocument);
  });
  afterAll(() => t?.close());

  /** Sends one raw request and reads the answer until the server closes the connection. */
  const raw = (text: string) =>
    new Promise<{ status: number; headers: Record<string, string>; text: string }>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port });
      let data = '';
      socket.on('data', (c: Buffer) => (data += c.toString('utf8')));
      socket.on('error', reject);
      socket.once('close', () => {
        const [top, rest = ''] = data.split('\r\n\r\n');
        const lines = top.split('\r\n');
        const headers = Object.fromEntries(
          lines
            .slice(1)
            .map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
        );
        resolve({ status: Number(lines[0].split(' ')[1]), headers, text: rest });
      });
      socket.write(text);
    });

  const judged = (
    method: string,
    url: string,
    res: { status: number; headers: Record<string, string>; text: string },
  ) => {
    let body: unknown;
    try {
      body = JSON.parse(res.text);
    } catch {
      body = res.text;
    }
    return contract.check(method, url, { status: res.status, headers: res.headers, body, text: res.text });
  };

  it('an HTTP/1.1 request without a Host header is 400 with the error body', async () => {
    const res = await raw('GET /api/datasets HTTP/1.1\r\nConnection: close\r\n\r\n');
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(res.text || '{}')).toMatchObject({
      statusCode: 400,
      error: 'Bad Request',
      code: 'BAD_REQUEST',
    });
    expect(judged('get', '/api/datasets', res)).toEqual([]);
  });

  it('a request with two Host headers is 400 with the error body (RFC 9112 §3.2; it was 200)', async () => {
    const res = await raw('GET /api/datasets HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n');
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text || '{}')).toMatchObject({ statusCode: 400, code: 'BAD_REQUEST' });
    expect(judged('get', '/api/datasets', res)).toEqual([]);
    const one = await raw('GET /api/health HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    expect(one.status).toBe(200);
  });

  it('an expectation other than 100-continue is not a bodiless 417: the request is answered as without it', async () => {
    const json = '{}';
    const res = await raw(
      `POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${json.length}\r\nExpect: 200-ok\r\nConnection: close\r\n\r\n${json}`,
    );
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text || '{}')).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED' });
    expect(judged('post', '/api/auth/login', res)).toEqual([]);
    const health = await raw(
      'GET /api/health HTTP/1.1\r\nHost: x\r\nExpect: something\r\nConnection: close\r\n\r\n',
    );
    expect(health.status).toBe(200);
  });
});
