import { appendFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

/**
 * The contract test (issue #23): every response the end-to-end suite receives is checked against
 * the checked-in `docs/openapi.json` — the document external clients generate their code from — so
 * the document cannot drift from what the service does. A response is matched to its operation by
 * path template and method; its status must be documented, its content type must be one the
 * response declares, and a JSON body must validate against the declared schema (Ajv, JSON Schema
 * 2020-12, which is the dialect of OpenAPI 3.1). Requests to paths or methods the document does
 * not have (the portal's pages, deliberately unknown routes) are not the document's business and
 * are skipped.
 */

interface OpenApiResponse {
  description?: string;
  content?: Record<string, { schema?: unknown }>;
  $ref?: string;
}
interface OpenApiOperation {
  responses?: Record<string, OpenApiResponse>;
}
export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, unknown>; responses?: Record<string, OpenApiResponse> };
}

const DOC_ID = 'https://custodian.invalid/openapi.json';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

const pointer = (parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

export interface ReceivedResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  text?: string;
}

export class OpenApiContract {
  private readonly ajv: Ajv2020;
  private readonly routes: { method: string; template: string; re: RegExp; op: OpenApiOperation }[] = [];
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(private readonly doc: OpenApiDocument) {
    this.ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
    addFormats(this.ajv);
    // OpenAPI's own schema keywords (annotations to a JSON Schema validator).
    this.ajv.addVocabulary(['example', 'discriminator', 'xml', 'externalDocs']);
    this.ajv.addSchema(doc as object, DOC_ID);
    for (const [template, item] of Object.entries(doc.paths)) {
      const re = new RegExp(
        '^' +
          template
            .split(/\{[^}]+\}/)
            .map((s) => s.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))
            .join('[^/]+') +
          '$',
      );
      for (const [method, op] of Object.entries(item))
        if (METHODS.includes(method)) this.routes.push({ method, template, re, op });
    }
    // A literal segment beats a template segment (`/api/practices/national-rollout` before `{ods}`).
    this.routes.sort(
      (a, b) => (a.template.match(/\{/g)?.length ?? 0) - (b.template.match(/\{/g)?.length ?? 0),
    );
  }

  static fromFile(file = path.join(__dirname, '..', '..', '..', 'docs', 'openapi.json')): OpenApiContract {
    return new OpenApiContract(JSON.parse(readFileSync(file, 'utf8')) as OpenApiDocument);
  }

  /** The operation a request reached, or undefined when the document does not describe it. */
  operation(method: string, url: string) {
    const raw = new URL(url, 'http://x').pathname;
    // A malformed percent-escape (`/api/bids/%zz`, answered 400) is matched as it was sent: decodeURI
    // threw, failing the request with a URIError instead of judging the answer.
    let pathname = raw;
    try {
      pathname = decodeURI(raw);
    } catch {
      /* as sent */
    }
    const m = method.toLowerCase();
    return this.routes.find((r) => r.method === m && r.re.test(pathname));
  }

  /** What is wrong with this response by the document (empty when it conforms or is not the document's). */
  check(method: string, url: string, res: ReceivedResponse): string[] {
    const route = this.operation(method, url);
    if (!route) return [];
    const where = `${method.toUpperCase()} ${route.template} → ${res.status}`;
    const responses = route.op.responses ?? {};
    const key = [String(res.status), `${String(res.status)[0]}XX`, 'default'].find((k) => k in responses);
    if (!key) return [`${where}: status ${res.status} is not documented`];
    let declared = responses[key];
    let jsonPath = ['paths', route.template, route.method, 'responses', key];
    if (declared.$ref) {
      const name = declared.$ref.replace('#/components/responses/', '');
      declared = this.doc.components?.responses?.[name] ?? {};
      jsonPath = ['components', 'responses', name];
    }
    const contentType = String(res.headers['content-type'] ?? '')
      .split(';')[0]
      .trim()
      .toLowerCase();
    const content = declared.content ?? {};
    const hasBody = res.text !== undefined ? res.text.length > 0 : res.body !== undefined && res.body !== '';
    if (!Object.keys(content).length) {
      if (hasBody && method.toLowerCase() !== 'head' && res.status !== 304)
        return [`${where}: the response has a body (${contentType}) but the document declares none`];
      return [];
    }
    if (!hasBody && (res.status === 204 || method.toLowerCase() === 'head')) return [];
    const mediaKey =
      Object.keys(content).find((k) => k.toLowerCase() === contentType) ??
      Object.keys(content).find(
        (k) => k === '*/*' || (k.endsWith('/*') && contentType.startsWith(k.slice(0, -1))),
      );
    if (!mediaKey)
      return [
        `${where}: content type ${contentType || '(none)'} is not one of ${Object.keys(content).join(', ')}`,
      ];
    if (!/json/.test(contentType) || content[mediaKey].schema === undefined) return [];
    const validate = this.validator([...jsonPath, 'content', mediaKey, 'schema']);
    // A test that reads the body raw (a download's parser) has bytes where JSON was sent.
    let body = res.body;
    if (Buffer.isBuffer(body)) {
      try {
        body = JSON.parse(body.toString('utf8'));
      } catch {
        return [`${where}: the body is not valid JSON`];
      }
    }
    if (validate(body)) return [];
    return (validate.errors ?? []).map(
      (e) => `${where}: body${e.instancePath} ${e.message}${e.params ? ' ' + JSON.stringify(e.params) : ''}`,
    );
  }

  private validator(parts: string[]): ValidateFunction {
    const ref = `${DOC_ID}#/${pointer(parts)}`;
    let v = this.validators.get(ref);
    if (!v) {
      v = this.ajv.compile({ $ref: ref });
      this.validators.set(ref, v);
    }
    return v;
  }
}

let shared: OpenApiContract | undefined;
/** The checked-in document's contract, loaded once per test file. */
export function openApiContract(): OpenApiContract {
  shared ??= OpenApiContract.fromFile();
  return shared;
}

interface ExpectableTest {
  expect(fn: (res: ReceivedResponse) => void): unknown;
}

/**
 * Wraps a supertest agent so that every request it makes checks its response against the
 * document: a response the document does not describe fails the request as a failed `.expect`
 * would, naming the route, the status and what differs.
 */
export function withOpenApiContract<T extends object>(agent: T, contract = openApiContract()): T {
  return new Proxy(agent, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof prop !== 'string' || !METHODS.includes(prop) || typeof value !== 'function') return value;
      return (url: string, ...rest: unknown[]) => {
        const test = (value as (...a: unknown[]) => ExpectableTest).call(target, url, ...rest);
        test.expect((res) => {
          const problems = contract.check(prop, url, res);
          // OPENAPI_CONTRACT_LOG=<file>: list the differences there instead of failing (a survey).
          const log = process.env.OPENAPI_CONTRACT_LOG;
          if (log && problems.length) return appendFileSync(log, problems.join('\n') + '\n');
          if (problems.length)
            throw new Error(`Response does not match docs/openapi.json:\n  ${problems.join('\n  ')}`);
        });
        return test;
      };
    },
  });
}
