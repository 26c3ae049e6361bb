import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import type { Response } from 'supertest';
import { createTestApp, OpenApiContract, type OpenApiDocument, TestApp } from '@custodian/testing';

/**
 * The published OpenAPI document (`/api/docs-json`, SPEC §7) read as a strict outside validator
 * reads it: for every operation and the error cases a tester tries (no token, a bad token, a role
 * without the right, an unknown id, a malformed id, a wrong content type, broken JSON, a body too
 * large, an unknown property, a NUL in the query, headers too large, a wrong method), the answer's
 * status must be one the operation declares, and its body must be valid by the declared schema. A
 * method a path does not have is answered 405 with `Allow` naming exactly the document's methods,
 * and the document's MethodNotAllowed response. The requests go round the e2e contract wrapper
 * (`t.http` skips what the document does not describe): every answer is judged here.
 */
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options'];
const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';
const VALUES: Record<string, [string, string]> = {
  // name: [well-formed but unknown, malformed]
  id: [UNKNOWN_ID, 'not-a-uuid'],
  ods: ['Z99999', 'not-an-ods'],
  version: ['7', 'x'],
  name: ['gp.csv.gz', '..%2Fetc'],
};
const fill = (template: string, which: 0 | 1) =>
  template.replace(/\{([^}]+)\}/g, (_, name: string) => VALUES[name]?.[which] ?? 'x');

type Op = { security?: unknown[]; requestBody?: { content: Record<string, unknown> } };

describe('every answer agrees with the published OpenAPI document, strictly', () => {
  let t: TestApp;
  let doc: OpenApiDocument;
  let contract: OpenApiContract;
  let raw: ReturnType<typeof request>;
  const problems: string[] = [];
  const tokens: Record<string, Record<string, string>> = {};

  beforeAll(async () => {
    // Slow headers and bodies are cut short within seconds here (408 below).
    t = await createTestApp({ HTTP_HEADERS_TIMEOUT_SECONDS: '2', HTTP_BODY_WINDOW_SECONDS: '2' });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    raw = request(t.app.getHttpServer());
    doc = (await raw.get('/api/docs-json').expect(200)).body as OpenApiDocument;
    contract = new OpenApiContract(doc);
    for (const role of [
      'admin',
      'researcher',
      'data_manager',
      'panel_member',
      'release_officer',
      'auditor',
    ] as const)
      tokens[role] = (await t.as(role)).auth;
    tokens.practice = (await t.as('practice', { practiceOds: 'A81001' })).auth;
  });
  afterAll(() => t?.close());

  const operations = () =>
    Object.entries(doc.paths).flatMap(([template, item]) =>
      Object.entries(item)
        .filter(([m]) => METHODS.includes(m))
        .map(([method, op]) => ({ template, method, op: op as Op })),
    );

  /** Judges one answer by the document; a 5xx other than the declared 503 is never right. */
  function judge(label: string, method: string, url: string, res: Response): void {
    const where = `${label}: ${method.toUpperCase()} ${url} → ${res.status}`;
    if (!contract.operation(method, url)) {
      problems.push(`${where}: the document has no such operation`);
      return;
    }
    for (const p of contract.check(method, url, {
      status: res.status,
      headers: res.headers,
      body: res.body,
      text: res.text,
    }))
      problems.push(`${label}: ${p}`);
    if (res.status >= 500) problems.push(`${where}: ${res.text.slice(0, 200)}`);
  }

  const send = (method: string, url: string) =>
    (raw as unknown as Record<string, (u: string) => request.Test>)[method](url);

  it('no token, a bad token, and every role: a declared status and body on every operation', async () => {
    for (const { template, method, op } of operations()) {
      const url = fill(template, 0);
      const json = op.requestBody?.content['application/json'] !== undefined;
      const empty = (req: request.Test) => (json ? req.send({}) : req);
      judge('no token', method, url, await empty(send(method, url)));
      if (op.security?.length)
        judge('bad token', method, url, await send(method, url).set('Authorization', 'Bearer not.a.token'));
      // Reads as every role; writes (an empty body) as roles that write little, the sessions' own
      // routes left out (a logout would end the session the other cases use).
      const roles = method === 'get' ? Object.keys(tokens) : ['auditor', 'practice'];
      if (template.startsWith('/api/auth/')) continue;
      for (const role of roles)
        judge(`as ${role}`, method, url, await empty(send(method, url).set(tokens[role])));
    }
    expect(problems.splice(0)).toEqual([]);
  });

  it('unknown and malformed ids, a NUL in the query, a malformed Idempotency-Key: declared statuses and bodies', async () => {
    for (const { template, method } of operations()) {
      for (const auth of [tokens.admin, tokens.researcher]) {
        if (template.includes('{')) {
          // No body: with an unknown id, never a happy path.
          for (const which of [0, 1] as const) {
            const url = fill(template, which);
            judge(which ? 'malformed id' : 'unknown id', method, url, await send(method, url).set(auth));
          }
          const url = template.replace(/\{[^}]+\}/, '%zz').replace(/\{[^}]+\}/g, '1');
          judge('malformed percent-escape', method, url, await send(method, url).set(auth));
        }
        if (method === 'post' && !template.startsWith('/api/auth/')) {
          const url = fill(template, 0);
          const res = await send(method, url).set(auth).set('Idempotency-Key', 'not a key');
          judge('malformed Idempotency-Key', method, url, res);
        }
        if (method === 'get') {
          const url = `${fill(template, 0)}?q=%00`;
          judge('NUL in the query', method, url, await send(method, url).set(auth));
        }
      }
    }
    expect(problems.splice(0)).toEqual([]);
  });

  it('wrong content type, broken JSON, a JSON array, an unknown property, a body too large: declared', async () => {
    const auth = tokens.admin;
    for (const { template, method, op } of operations()) {
      if (!['post', 'put', 'patch'].includes(method)) continue;
      const url = fill(template, 0);
      const json = (body: string) =>
        send(method, url).set(auth).set('content-type', 'application/json').send(body);
      judge(
        'wrong content type',
        method,
        url,
        await send(method, url).set(auth).set('content-type', 'application/xml').send('<x/>'),
      );
      judge(
        'compressed body',
        method,
        url,
        await send(method, url)
          .set(auth)
          .set('content-type', 'application/json')
          .set('content-encoding', 'gzip')
          .send('{}'),
      );
      if (op.requestBody && !op.requestBody.content['application/json']) continue;
      judge('broken JSON', method, url, await json('{"a":'));
      judge('JSON array', method, url, await json('[1]'));
      judge('unknown property', method, url, await json('{"surely_unknown_property":1}'));
      judge('body too large', method, url, await json(JSON.stringify({ x: 'x'.repeat(2 * 1024 * 1024) })));
    }
    expect(problems.splice(0)).toEqual([]);
  });

  it('request headers too large: 431, declared', async () => {
    for (const { template, method, op } of operations().slice(0, 12)) {
      const url = fill(template, 0);
      const req = send(method, url).set('x-padding', 'p'.repeat(64 * 1024));
      if (op.security?.length) req.set(tokens.admin);
      const res = await req;
      expect(res.status, `${method} ${url}`).toBe(431);
      // A code of its own, not the generic BAD_REQUEST (the helper's sweep: a client could not tell).
      expect(JSON.parse(res.text ?? '{}').code).toBe('REQUEST_HEADERS_TOO_LARGE');
      judge('headers too large', method, url, res);
    }
    expect(problems.splice(0)).toEqual([]);
  });

  it('headers or a body that arrive too slowly: 408, declared (on a write that takes no body too)', async () => {
    const port = (t.app.getHttpServer().address() as AddressInfo).port;
    /** Sends `head` and never the rest; what the service answers before it closes. */
    const stall = (head: string) =>
      new Promise<Response>((resolve) => {
        const socket = connect({ host: '127.0.0.1', port });
        let data = '';
        socket.on('data', (c: Buffer) => (data += c.toString('utf8')));
        socket.on('error', () => undefined);
        socket.once('close', () => {
          const [top, text = ''] = data.split('\r\n\r\n');
          const lines = top.split('\r\n');
          const headers = Object.fromEntries(
            lines
              .slice(1)
              .map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
          );
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch {
            body = text;
          }
          resolve({ status: Number(lines[0].split(' ')[1]), headers, body, text } as unknown as Response);
        });
        socket.write(head);
      });
    const slowHeaders = await stall('GET /api/auth/me HTTP/1.1\r\nHost: x\r\n');
    expect(slowHeaders.status).toBe(408);
    judge('headers too slow', 'get', '/api/auth/me', slowHeaders);
    const url = `/api/bids/${UNKNOWN_ID}/submit`;
    const slowBody = await stall(
      `POST ${url} HTTP/1.1\r\nHost: x\r\nAuthorization: ${tokens.researcher.Authorization}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`,
    );
    expect(slowBody.status).toBe(408);
    judge('body too slow', 'post', url, slowBody);
    expect(problems.splice(0)).toEqual([]);
  });

  it('a method the path does not have: 405 with Allow naming the document’s methods, as the document says', async () => {
    const declared = doc.components?.responses?.MethodNotAllowed;
    expect(declared, 'components.responses.MethodNotAllowed').toBeTruthy();
    const errorBody = new OpenApiContract({
      ...doc,
      paths: {
        '/probe': { get: { responses: { '405': { $ref: '#/components/responses/MethodNotAllowed' } } } },
      },
    });
    for (const [template, item] of Object.entries(doc.paths)) {
      const has = Object.keys(item).filter((m) => METHODS.includes(m));
      const allow = has.map((m) => m.toUpperCase());
      if (has.includes('get')) allow.push('HEAD');
      for (const method of METHODS.filter((m) => !has.includes(m))) {
        const url = fill(template, 0);
        for (const auth of [{}, tokens.admin]) {
          const res = await send(method, url).set(auth);
          const where = `${method.toUpperCase()} ${url}`;
          if (res.status !== 405) {
            problems.push(`${where} → ${res.status}, not 405`);
            continue;
          }
          const allowed = String(res.headers.allow ?? '')
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean);
          if ([...allowed].sort().join() !== [...allow].sort().join())
            problems.push(`${where}: Allow ${allowed.join(', ')}, the document ${allow.join(', ')}`);
          for (const p of errorBody.check('get', '/probe', res)) problems.push(`${where}: ${p}`);
        }
      }
    }
    // The path as the router reads it, escapes decoded (an attack on the day's change: 404 and a
    // practice's 401 where the plain path is 405).
    for (const [method, url, allow] of [
      ['post', '/api/%64ocs-json', 'GET, HEAD'],
      ['get', '/api/practices/national%2Drollout', 'POST'],
    ] as const) {
      const res = await send(method, url);
      if (res.status !== 405 || res.headers.allow !== allow)
        problems.push(`${method.toUpperCase()} ${url} → ${res.status}, Allow ${res.headers.allow}`);
    }
    expect(problems.splice(0)).toEqual([]);
  });
});

describe('an answer while the service shuts down', () => {
  let t: TestApp;
  let closed: Promise<void> | undefined;
  beforeAll(async () => {
    t = await createTestApp();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await (closed ?? t?.app.close());
    await t?.db.drop();
  });

  it('is the 503 the document declares, with the error body (it was the framework’s, without a code)', async () => {
    const doc = (await request(t.app.getHttpServer()).get('/api/docs-json').expect(200))
      .body as OpenApiDocument;
    const port = (t.app.getHttpServer().address() as AddressInfo).port;
    const socket = connect({ host: '127.0.0.1', port });
    let data = '';
    socket.on('data', (c: Buffer) => (data += c.toString('utf8')));
    socket.on('error', () => undefined);
    const ended = new Promise((resolve) => socket.once('close', resolve));
    // A request in flight (its body not all sent) holds the connection open while the service closes;
    // the request after it on the same connection arrives while it drains.
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      'POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{',
    );
    await new Promise((r) => setTimeout(r, 200));
    closed = t.app.close();
    // Closing has begun once the port no longer takes connections (the server closes after the
    // framework's preClose hooks have run).
    const listening = () =>
      new Promise<boolean>((resolve) => {
        const probe = connect({ host: '127.0.0.1', port });
        probe.once('connect', () => (probe.destroy(), resolve(true)));
        probe.once('error', () => resolve(false));
      });
    for (let i = 0; i < 200 && (await listening()); i++) await new Promise((r) => setTimeout(r, 50));
    socket.write('}GET /api/datasets HTTP/1.1\r\nHost: x\r\n\r\n');
    await ended;
    const answers = data.split(/(?=HTTP\/1\.1 )/);
    expect(answers).toHaveLength(2);
    const [top, text] = answers[1].split('\r\n\r\n');
    expect(top).toMatch(/^HTTP\/1\.1 503 /);
    const problems = new OpenApiContract(doc).check('get', '/api/datasets', {
      status: 503,
      headers: { 'content-type': /content-type: ([^\r]+)/i.exec(top)?.[1] },
      body: JSON.parse(text),
      text,
    });
    expect(problems).toEqual([]);
    expect(JSON.parse(text)).toMatchObject({ statusCode: 503, code: 'SERVICE_UNAVAILABLE' });
  });
});
