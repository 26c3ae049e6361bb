import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { ERROR_CODES } from '@custodian/core';
import { OpenApiContract, OpenApiDocument } from '@custodian/testing';

/**
 * The checked-in docs/openapi.json is a document tools nobody here wrote accept as it is (issue
 * #23): strict OpenAPI 3.1 validators, proxy validators (Prism --errors) and generated clients.
 * What a response must look like is checked on every e2e response (libs/testing's contract); this
 * checks the document's own shape.
 */
const doc = JSON.parse(
  readFileSync(path.join(__dirname, '..', 'docs', 'openapi.json'), 'utf8'),
) as OpenApiDocument & {
  components: { schemas: Record<string, Record<string, unknown>>; responses: Record<string, unknown> };
};
type Op = {
  summary?: string;
  description?: string;
  security?: unknown[];
  requestBody?: { content: Record<string, unknown> };
  responses: Record<string, { $ref?: string; content?: Record<string, { schema?: { $ref?: string } }> }>;
};
const operations = Object.entries(doc.paths).flatMap(([p, item]) =>
  Object.entries(item).map(([m, op]) => ({
    route: `${m.toUpperCase()} ${p}`,
    path: p,
    method: m,
    op: op as Op,
  })),
);

describe('docs/openapi.json', () => {
  it("passes a linter's hygiene rules: every operation's tag declared, a server named, no unused shared response but 405", () => {
    // Spectral's `spectral:oas` ruleset gave 74 warnings on the document (operation-tag-defined,
    // oas3-api-servers, oas3-unused-component), 2026-12-07.
    const declared = new Set((doc as { tags?: { name: string }[] }).tags?.map((t) => t.name));
    const named = operations.flatMap(({ op }) => (op as { tags?: string[] }).tags ?? []);
    expect(named.length).toBeGreaterThan(50);
    expect(named.filter((t) => !declared.has(t))).toEqual([]);
    expect((doc as { servers?: { url: string }[] }).servers?.[0]?.url).toBe('/');
    const text = JSON.stringify(doc.paths);
    const unused = Object.keys(doc.components.responses).filter(
      (name) => !text.includes(`"#/components/responses/${name}"`),
    );
    expect(unused).toEqual(['MethodNotAllowed']);
  });

  it('is OpenAPI 3.1 with no 3.0-only `nullable` left', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(JSON.stringify(doc)).not.toContain('"nullable"');
  });

  it('every operation has a summary and a description, naming no document outside the repository', () => {
    const missing = operations.filter((o) => !o.op.summary || !o.op.description).map((o) => o.route);
    expect(missing).toEqual([]);
    for (const { op, route } of operations)
      expect(`${op.summary} ${op.description}`, route).not.toMatch(/SPEC|STYLE|issue #|\.md\b/);
    // Nor anywhere else in the document (descriptions of schemas and of the API itself).
    expect(JSON.stringify(doc)).not.toMatch(/SPEC §|STYLE\.md|issue #/);
  });

  it('declares one Error schema whose code is the enum of stable codes, behind every error response', () => {
    const error = doc.components.schemas.Error as {
      properties: { code: { enum: string[] } };
      required: string[];
    };
    expect(error.required).toEqual(['statusCode', 'error', 'message', 'code']);
    expect(error.properties.code.enum).toEqual([...ERROR_CODES]);
    const wrong: string[] = [];
    for (const { route, op } of operations)
      for (const [status, r] of Object.entries(op.responses)) {
        if (!/^[45]/.test(status) || route === 'GET /api/health') continue;
        const ref = r.$ref ?? r.content?.['application/json']?.schema?.$ref;
        const target = r.$ref
          ? (doc.components.responses[r.$ref.split('/').pop()!] as Op['responses'][string])
          : r;
        const schema = r.$ref ? target.content?.['application/json']?.schema?.$ref : ref;
        if (schema !== '#/components/schemas/Error') wrong.push(`${route} ${status}`);
      }
    expect(wrong).toEqual([]);
  });

  it('documents the statuses every route can answer', () => {
    const gaps: string[] = [];
    for (const { route, path: p, method, op } of operations) {
      // Whatever the route: a NUL in the query or a request that is not HTTP (400), headers too slow
      // (408) or too large (431), the database down (503).
      const need = ['400', '408', '431', '503'];
      if (op.security?.length) need.push('401', '403', '429');
      if (p.includes('{')) need.push('404');
      if (['post', 'put', 'patch'].includes(method)) need.push('413', '415');
      for (const s of need) if (!(s in op.responses)) gaps.push(`${route} ${s}`);
      if (!Object.keys(op.responses).some((s) => /^2/.test(s))) gaps.push(`${route} 2xx`);
    }
    expect(gaps).toEqual([]);
    // A method a path does not list (no operation to declare it on): the shared 405 with `Allow`.
    const notAllowed = doc.components.responses.MethodNotAllowed as {
      headers?: Record<string, unknown>;
      content?: Record<string, { schema?: { $ref?: string } }>;
    };
    expect(notAllowed?.content?.['application/json']?.schema?.$ref).toBe('#/components/schemas/Error');
    expect(Object.keys(notAllowed.headers ?? {})).toEqual(['Allow']);
  });

  it('has schemas for the release routes, the audit list and the download, and the register CSV as text', () => {
    const op = (route: string) => operations.find((o) => o.route === route)!.op;
    expect(op('GET /api/releases/{id}').responses['200'].content?.['application/json']?.schema).toBeTruthy();
    expect(
      op('POST /api/bids/{id}/releases').responses['202'].content?.['application/json']?.schema,
    ).toBeTruthy();
    expect(op('GET /api/audit').responses['200'].content?.['application/json']?.schema).toBeTruthy();
    const download = op('GET /api/releases/{id}/files/{name}').responses;
    expect(Object.keys(download)).toEqual(expect.arrayContaining(['200', '206', '409', '416']));
    // A byte range of any file is bytes, not a JSON object (an outsider's strict client: a range of
    // manifest.json was documented as an object).
    // And bytes, not text: OpenAPI 3.1's bare `type: string` is text, which a strict client decodes
    // (a review: a gzip range corrupted as UTF-8).
    for (const [type, media] of Object.entries(download['206'].content ?? {})) {
      const schema = (media as { schema?: { type?: string; contentMediaType?: string } }).schema;
      expect({ type, schemaType: schema?.type, media: schema?.contentMediaType }).toEqual({
        type,
        schemaType: 'string',
        media: 'application/octet-stream',
      });
    }
    // Health's own bodies, by schema (they were examples only: any body was valid).
    const health = op('GET /api/health').responses as Record<
      string,
      { content?: Record<string, { schema?: Record<string, unknown> }> }
    >;
    expect(health['200'].content?.['application/json']?.schema).toMatchObject({
      required: ['status', 'database'],
      additionalProperties: false,
    });
    expect(health['503'].content?.['application/json']?.schema?.anyOf).toContainEqual({
      $ref: '#/components/schemas/Error',
    });
    expect(op('GET /api/register').responses['200'].content?.['text/csv']?.schema).toEqual({
      type: 'string',
    });
    const load = doc.components.schemas.SourceLoadSummary as {
      properties: { uploadedBy: { type: unknown } };
    };
    expect(load.properties.uploadedBy.type).toEqual(['string', 'null']);
  });

  it('declares additionalProperties false and the limits on the bodies the server validates', () => {
    const bid = doc.components.schemas.CreateBidDto as { additionalProperties: unknown };
    expect(bid.additionalProperties).toBe(false);
    const login = doc.components.schemas.LoginDto as { additionalProperties: unknown };
    expect(login.additionalProperties).toBe(false);
  });

  it('every request body has an example, and each JSON example is valid by its own schema', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addVocabulary(['example', 'discriminator', 'xml', 'externalDocs']);
    ajv.addSchema(doc as object, 'doc');
    const problems: string[] = [];
    for (const { route, op } of operations) {
      if (!op.requestBody) continue;
      for (const [type, media] of Object.entries(op.requestBody.content) as [
        string,
        { example?: unknown },
      ][]) {
        if (media.example === undefined) problems.push(`${route} ${type}: no example`);
        else if (type === 'application/json') {
          const pointer = [
            'paths',
            route.split(' ')[1],
            route.split(' ')[0].toLowerCase(),
            'requestBody',
            'content',
            type,
            'schema',
          ]
            .map((x) => x.replace(/~/g, '~0').replace(/\//g, '~1'))
            .join('/');
          const validate = ajv.compile({ $ref: `doc#/${pointer}` });
          if (!validate(media.example)) problems.push(`${route}: ${ajv.errorsText(validate.errors)}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('the contract judges an answer to a malformed percent-escape rather than throwing', () => {
    const contract = new OpenApiContract(doc);
    const answer = {
      status: 400,
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: {
        statusCode: 400,
        error: 'Bad Request',
        message: 'The request URL is not valid',
        code: 'BAD_REQUEST',
      },
    };
    expect(contract.check('get', '/api/bids/%zz', answer)).toEqual([]);
    expect(contract.check('get', '/api/bids/%zz', { ...answer, status: 418 })).toEqual([
      'GET /api/bids/{id} → 418: status 418 is not documented',
    ]);
  });

  it('a nullable object property accepts null and the object (the bid without aggregation)', () => {
    const contract = new OpenApiContract(doc);
    const bid = operations.find((o) => o.route === 'GET /api/bids/{id}')!;
    expect(bid).toBeTruthy();
    const problems = contract.check('get', '/api/bids/00000000-0000-4000-8000-000000000000', {
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: { aggregation: null, agreement: null },
    });
    expect(problems.join('\n')).not.toMatch(/aggregation|agreement/);
  });
});
