import { request as httpRequest } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import fc from 'fast-check';
import { ROLES, type Role } from '@custodian/core';
import { createTestApp, TestApp, TEST_PASSWORD } from '@custodian/testing';
import { ACCESS } from './access-matrix';
import { UPLOAD_TYPES as UPLOADS } from './support/body-routes';
import { DeclaredRoute, declaredRoutes } from './support/declared-routes';

/**
 * Content types (issue 18, ASVS V4.1, API4/API8): a body's content type decides which parser reads
 * it, so it decides what reaches the guards, pipes and handlers. Streamed bodies (NDJSON, CSV, plain
 * text) are only for the four upload routes; every other route takes a JSON object or nothing.
 * Before this was enforced, `text/plain` sent to `POST /api/auth/refresh` handed the raw request
 * stream to class-transformer, which walked into the socket handle and aborted Node (the whole API
 * died on one unauthenticated request).
 */

const TYPES = [
  'application/json',
  'text/plain',
  'text/csv',
  'application/x-ndjson',
  'application/octet-stream',
  'multipart/form-data; boundary=xyz',
  'application/x-www-form-urlencoded',
  'text/plain; charset=utf-8',
  'APPLICATION/JSON',
];

const BODIES: Record<string, string> = {
  empty: '',
  object: '{"name":"x"}',
  array: '[1,2,3]',
  string: '"a string"',
  number: '42',
  null: 'null',
  broken: '{"name":',
  csv: 'NHS_NUMBER,BIRTH_DATE\n9434765919,1970-01-01\n',
  ndjson: '{"resourceType":"Patient","id":"p1"}\n',
  form: 'email=a%40b.c&password=x',
  multipart: '--xyz\r\nContent-Disposition: form-data; name="f"\r\n\r\nvalue\r\n--xyz--\r\n',
  nhs: '9434765919\n',
};

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

describe('content types: streamed bodies on the upload routes only, JSON objects everywhere else', () => {
  let t: TestApp;
  let base: { host: string; port: number };
  const sessions = new Map<Role, { Authorization: string }>();
  let routes: DeclaredRoute[];

  beforeAll(async () => {
    t = await createTestApp();
    for (const role of ROLES) sessions.set(role, (await t.as(role)).auth);
    routes = declaredRoutes(t);
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const addr = t.app.getHttpServer().address() as AddressInfo;
    base = { host: '127.0.0.1', port: addr.port };
  });
  afterAll(() => t?.close());

  /** One request on a fresh connection; rejects when the server drops the connection. */
  const send = (
    method: string,
    path: string,
    headers: Record<string, string>,
    body: string | Buffer,
  ): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          ...base,
          method,
          path,
          headers: { ...headers, 'content-length': Buffer.byteLength(body) },
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: Record<string, unknown> = {};
            try {
              parsed = JSON.parse(text) as Record<string, unknown>;
            } catch {
              parsed = { text };
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  const healthy = async () => {
    const res = await send('GET', '/api/health', {}, '');
    expect(res.status).toBe(200);
  };

  const concrete = (path: string) =>
    path
      .replace(':ods', 'A81001')
      .replace(':name', 'file.csv')
      .replace(/:[a-zA-Z]+/g, '8d3b7f2e-7a0e-4c8e-9a51-2f1d0c6b9e11');

  it('text/plain, text/csv and NDJSON to POST /api/auth/refresh, /login and /bids: 415, and the API lives on', async () => {
    const researcher = sessions.get('researcher')!;
    for (const type of ['text/plain', 'text/csv', 'application/x-ndjson']) {
      for (const [path, auth] of [
        ['/api/auth/refresh', {}],
        ['/api/auth/login', {}],
        ['/api/bids', researcher],
      ] as const) {
        const res = await send('POST', path, { ...auth, 'content-type': type }, 'hello\n');
        expect(res, `${type} ${path}`).toMatchObject({
          status: 415,
          body: { statusCode: 415, error: 'Unsupported Media Type', code: 'UNSUPPORTED_MEDIA_TYPE' },
        });
        await healthy();
      }
    }
  });

  it('without credentials a route that needs them is 401 whatever the body; no such route is 404 whatever the body (probe, 2026-12-06)', async () => {
    // Before: a bad body without a token was 400 (INVALID_JSON, JSON_NOT_OBJECT) or 415.
    for (const [type, body] of [
      ['application/json', '{bad'],
      ['application/json', '[]'],
      ['text/plain', 'hello'],
      ['application/x-ndjson', '{}\n'],
    ])
      for (const path of ['/api/bids', '/api/practices/A81001/extracts', '/api/sources/hes'])
        expect(await send('POST', path, { 'content-type': type }, body), `${type} ${path}`).toMatchObject({
          status: 401,
          body: { statusCode: 401, code: 'UNAUTHENTICATED' },
        });
    // Public routes still read their body first: a bad login body is a bad body.
    expect(
      await send('POST', '/api/auth/login', { 'content-type': 'application/json' }, '{bad'),
    ).toMatchObject({
      status: 400,
    });
    // No such route: 404; not this method: 405 METHOD_NOT_ALLOWED (before: 415 for a text body).
    const researcher = sessions.get('researcher')!;
    for (const [method, path, type, status] of [
      ['PUT', '/api/nothing-here', 'text/csv', 404],
      ['DELETE', '/api/bids/8d3b7f2e-7a0e-4c8e-9a51-2f1d0c6b9e11', 'text/csv', 405],
      ['PUT', '/api/practices/A81001/extracts', 'application/x-ndjson', 405],
    ] as const)
      expect(
        await send(method, path, { ...researcher, 'content-type': type }, 'a,b\n'),
        `${method} ${path}`,
      ).toMatchObject({ status, body: { statusCode: status } });
    await healthy();
  });

  it('a compressed body is 415, an empty JSON body is no body, and malformed HTTP or URLs get the error contract (probe, 2026-12-06)', async () => {
    const researcher = sessions.get('researcher')!;
    // Content-Encoding: before, a plain body declared deflate or br was parsed as if it were plain.
    for (const coding of ['deflate', 'br', 'gzip'])
      expect(
        await send(
          'POST',
          '/api/auth/login',
          { 'content-type': 'application/json', 'content-encoding': coding },
          '{"email":"a@b.c","password":"x"}',
        ),
      ).toMatchObject({ status: 415, body: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
    // An empty JSON body to a route that takes none: answered as without one (before: 400).
    expect(
      (await send('POST', '/api/auth/logout', { ...researcher, 'content-type': 'application/json' }, ''))
        .status,
    ).toBe(204);
    // … and to one that needs a body: which fields are missing.
    const empty = await send(
      'POST',
      '/api/organisations',
      { ...sessions.get('admin')!, 'content-type': 'application/json' },
      '',
    );
    expect(empty).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    expect(String(empty.body.message)).toMatch(/name/);
    // A URL Fastify cannot decode: the contract's body (before: code FST_ERR_BAD_URL).
    expect(await send('GET', '/api/bids/%zz', researcher, '')).toMatchObject({
      status: 400,
      body: { statusCode: 400, error: 'Bad Request', code: 'BAD_REQUEST' },
    });
    // The same on a portal address: a page, not the API's JSON (a walk-through, 2026-12-06).
    const page = await send('GET', '/data-releases/%zz', { accept: 'text/html' }, '');
    expect(page.status).toBe(400);
    expect(String(page.body.text)).toMatch(/<h1>This address cannot be read<\/h1>/);
    expect(String(page.body.text)).toMatch(/<html lang="en-GB">/);
    // Requests Node's parser refuses: the contract's body (before: no `code`).
    const raw = (text: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(base.port, base.host, () => socket.write(text));
        let got = '';
        socket.on('data', (c) => (got += c.toString('utf8')));
        socket.on('end', () => resolve(got));
        socket.on('error', reject);
      });
    for (const bad of [
      'GET /api/health HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
      'POST /api/health HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'GET /api/health HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n',
    ]) {
      const answer = await raw(bad);
      expect(answer).toMatch(/^HTTP\/1\.1 400 /);
      expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toEqual({
        statusCode: 400,
        error: 'Bad Request',
        message: 'The request is not valid HTTP/1.1',
        code: 'BAD_REQUEST',
      });
    }
    // After such an answer the server's connection count is back where it was (the socket is
    // destroyed after the answer, as Node and Fastify do). This passes with `end()` alone as well:
    // the half-open case a review found is not reproduced here.
    const server = t.app.getHttpServer() as {
      getConnections(cb: (e: Error | null, n: number) => void): void;
    };
    const connections = () => new Promise<number>((resolve) => server.getConnections((_e, n) => resolve(n)));
    const before = await connections();
    const socket = connect({ port: base.port, host: base.host, allowHalfOpen: true }, () =>
      socket.write('GET /api/health HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n'),
    );
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('end', resolve));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const after = await connections();
    socket.destroy();
    expect(after).toBe(before);
    await healthy();
  });

  it('JSON that is not an object (array, string, number, null) is a 400 before any guard but authentication', async () => {
    for (const text of ['[1,2]', '"x"', '3', 'null', 'true']) {
      for (const [path, auth] of [
        ['/api/auth/refresh', {}],
        ['/api/organisations', sessions.get('admin')!],
      ] as const) {
        const res = await send('POST', path, { ...auth, 'content-type': 'application/json' }, text);
        expect(res, `${text} ${path}`).toMatchObject({
          status: 400,
          body: { statusCode: 400, code: 'JSON_NOT_OBJECT' },
        });
      }
    }
  });

  it('upload routes refuse any other content type with 415, JSON included', async () => {
    for (const [key, own] of Object.entries(UPLOADS)) {
      const [method, path] = key.split(' ');
      const role = (ACCESS[key] as Role[])[0];
      for (const type of TYPES.filter((x) => x.split(';')[0].toLowerCase() !== own)) {
        const res = await send(
          method,
          concrete(path),
          { ...sessions.get(role)!, 'content-type': type },
          '{}',
        );
        expect(res, `${type} ${key}`).toMatchObject({
          status: 415,
          body: { statusCode: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
        });
      }
    }
  });

  it("the portal's forms (urlencoded, outside /api) and its in-process API calls keep working", async () => {
    const user = await t.factory.user({ roles: ['auditor'] });
    const page = await t.http.get('/sign-in').expect(200);
    const cookie = String(page.headers['set-cookie']).split(';')[0];
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1] ?? '';
    const res = await t.http
      .post('/sign-in')
      .set('cookie', cookie)
      .type('form')
      .send({ _csrf: csrf, email: user.email, password: TEST_PASSWORD });
    expect(res.status).toBe(303);
    // The sign-in called POST /api/auth/login in process (Fastify inject, a stand-in socket): the
    // body policy's timers must leave it alone (one once called its missing destroy() 2 s later
    // and killed the process).
    await new Promise((r) => setTimeout(r, 2500));
    await healthy();
  });

  it('every route × content type × body: a 4xx where the body is not acceptable, never a 5xx or a dropped connection', async () => {
    const withBody = routes.filter((r) => ['POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method));
    expect(withBody.length).toBeGreaterThan(20);
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        fc.constantFrom(...TYPES, undefined),
        fc.oneof(
          fc.constantFrom(...Object.keys(BODIES)).map((k) => BODIES[k]),
          fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
        ),
        fc.boolean(),
        async (route, type, body, signedIn) => {
          const key = `${route.method} ${route.path}`;
          const allowed = ACCESS[key];
          const role = allowed === 'public' || !allowed ? 'researcher' : allowed[0];
          const headers: Record<string, string> = signedIn ? { ...sessions.get(role)! } : {};
          if (type) headers['content-type'] = type;
          const res = await send(route.method, concrete(route.path), headers, body);
          seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
          expect(res.status, `${key} ${type} ${String(body).slice(0, 40)}`).toBeLessThan(500);
          // Without credentials a route that needs them answers 401 before its body is read (SPEC §7).
          const anonymous = !signedIn && allowed !== 'public';
          if (anonymous && ['POST', 'PUT', 'PATCH', 'DELETE'].includes(route.method))
            expect(res.status, `${key} without credentials`).toBe(401);
          else if (['POST', 'PUT', 'PATCH', 'DELETE'].includes(route.method) && type) {
            const bare = type.split(';')[0].trim().toLowerCase();
            const own = UPLOADS[key] ?? 'application/json';
            if (bare !== own) expect(res.status, `${key} ${type}`).toBe(415);
            else if (own === 'application/json') {
              let value: unknown;
              try {
                value = JSON.parse(String(body));
              } catch {
                value = undefined;
              }
              // An empty body is no body (answered as a request without one); any other non-object is a 400.
              const empty = String(body).trim() === '';
              if (!empty && (value === null || typeof value !== 'object' || Array.isArray(value)))
                expect(res.status, `${key} ${String(body).slice(0, 40)}`).toBe(400);
            }
          }
          if (res.status >= 400)
            expect(res.body).toMatchObject({ statusCode: res.status, code: expect.any(String) });
          await healthy();
        },
      ),
      { numRuns: 200 },
    );
    expect(seen.get(415)).toBeGreaterThan(0);
  });
});
