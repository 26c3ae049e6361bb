import { getMetadataStorage } from 'class-validator';
import type { OpenAPIObject } from '@nestjs/swagger';
import { ERROR_CODES, ODS_CODE } from '@custodian/core';
import type { ClassRef, RouteFacts } from './openapi-routes';
import { OPERATION_TEXTS, REQUEST_EXAMPLES } from './openapi-texts';

/**
 * The published OpenAPI document, finished for tools nobody here wrote (issue #23): @nestjs/swagger
 * writes OpenAPI 3.0 from the decorators; this step, applied to whatever routes exist (so routes
 * added later get the same treatment), makes it a document strict validators and generated
 * clients accept as it is:
 * - OpenAPI 3.1 (JSON Schema 2020-12): `nullable` becomes `type: [t, "null"]`, and a nullable
 *   reference `oneOf: [{$ref}, {type: "null"}]` (3.0's `nullable` beside `allOf` is refused by
 *   strict validators);
 * - one `Error` schema (`{statusCode, error, message, code, details?}`, `code` an enum of the
 *   stable codes) referenced by every error response, and the statuses every route can answer
 *   (400, 401, 403, 404, 408, 409, 413, 415, 429, 431, 503) declared where they apply; 405 (a
 *   method a path does not have, method-not-allowed.ts) as a shared response of no operation;
 * - `additionalProperties: false` and the length, range, pattern and format limits of the
 *   class-validator rules on every schema the validation pipe checks (unknown properties → 400);
 * - a summary and a description on every operation (`openapi-texts.ts` where a route's
 *   decorators give none).
 */

type Schema = Record<string, unknown>;
interface Response {
  description?: string;
  headers?: Record<string, { description: string; schema: Schema }>;
  content?: Record<string, { schema?: Schema; example?: unknown }>;
  $ref?: string;
}
interface Operation {
  summary?: string;
  description?: string;
  parameters?: { in: string; name: string; schema?: Schema }[];
  requestBody?: { required?: boolean; content?: Record<string, { example?: unknown; schema?: Schema }> };
  security?: unknown[];
  responses: Record<string, Response>;
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];

/** The shared error responses: name, default description. */
const ERROR_RESPONSES: Record<string, [string, string]> = {
  '400': [
    'BadRequest',
    'The request is not valid: a malformed id, query, body or JSON, a property the route does not take (unknown properties are refused), a value holding U+0000 (NUL), or a request that is not valid HTTP. `details` may say which.',
  ],
  '401': [
    'Unauthorized',
    'No valid access token: sign in (POST /api/auth/login) and send it as a Bearer token.',
  ],
  '403': [
    'Forbidden',
    'Signed in, but your roles do not allow this action, or a segregation-of-duties rule forbids it.',
  ],
  '404': [
    'NotFound',
    'No such object, or one you may not see (an object of another organisation answers the same as one that does not exist).',
  ],
  '405': [
    'MethodNotAllowed',
    'The path exists, but not with this method: `Allow` lists the methods it has (no operation of the document answers it; every path does for a method it does not list).',
  ],
  '408': [
    'RequestTimeout',
    'The request headers or body arrived slower than the minimum rate; the connection is closed.',
  ],
  '409': [
    'Conflict',
    'The object is not in a state that allows this (an illegal state change or a duplicate).',
  ],
  '413': ['PayloadTooLarge', 'The request body is larger than the route accepts (1 MiB for JSON).'],
  '415': ['UnsupportedMediaType', "The request body's content type is not the one the route takes."],
  '416': ['RangeNotSatisfiable', 'The requested byte range is outside the file.'],
  '422': [
    'UnprocessableEntity',
    'The body is well-formed but cannot be applied as a whole; nothing was stored.',
  ],
  '429': ['TooManyRequests', 'Too many requests: wait for the number of seconds in `Retry-After`.'],
  '431': [
    'RequestHeaderFieldsTooLarge',
    'The request headers are larger than the service reads (16 KiB in all); the connection is closed.',
  ],
  '503': [
    'ServiceUnavailable',
    'The database is unavailable, the service is shutting down, or a change met a concurrent one (TRANSIENT_CONFLICT); try again shortly.',
  ],
};

/** What any operation may answer, before or around its route: see ERROR_RESPONSES. */
const GLOBAL_STATUSES = ['400', '408', '431', '503'];

const ERROR_SCHEMA: Schema = {
  type: 'object',
  description: 'Every error answer of the API. No stack trace, SQL or patient data ever appears in it.',
  required: ['statusCode', 'error', 'message', 'code'],
  additionalProperties: false,
  properties: {
    statusCode: { type: 'integer', minimum: 400, maximum: 599, description: 'The HTTP status, repeated' },
    error: { type: 'string', description: 'The status phrase', example: 'Not Found' },
    message: { type: 'string', description: 'For people; do not parse it' },
    code: {
      type: 'string',
      enum: [...ERROR_CODES],
      description: 'Stable machine-readable code: switch on this, not on the message',
    },
    details: {
      type: 'object',
      additionalProperties: true,
      description: 'Ids, line numbers, fields or states that explain the error (never patient data)',
    },
  },
  example: { statusCode: 404, error: 'Not Found', message: 'Bid not found', code: 'NOT_FOUND' },
};

const errorContent = () => ({ 'application/json': { schema: { $ref: '#/components/schemas/Error' } } });

export function finishOpenApiDocument(input: OpenAPIObject, routes?: RouteFacts): OpenAPIObject {
  const doc = input as unknown as {
    openapi: string;
    paths: Record<string, Record<string, Operation>>;
    components: { schemas?: Record<string, Schema>; responses?: Record<string, Response> };
  };
  doc.openapi = '3.1.0';
  doc.components ??= {};
  doc.components.schemas ??= {};
  applyValidationRules(doc.components.schemas, routes?.dtoClasses ?? []);
  doc.components.schemas.Error = ERROR_SCHEMA;
  doc.components.responses = Object.fromEntries(
    Object.values(ERROR_RESPONSES).map(([name, description]) => [
      name,
      { description, content: errorContent() },
    ]),
  );
  doc.components.responses.MethodNotAllowed.headers = {
    Allow: {
      description: "The path's methods, e.g. `GET, HEAD, PATCH`",
      schema: { type: 'string' },
    },
  };

  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!HTTP_METHODS.includes(method)) continue;
      const texts = OPERATION_TEXTS[`${method.toUpperCase()} ${path}`];
      if (texts) {
        op.summary ||= texts[0];
        op.description ||= texts[1];
      }
      const example = REQUEST_EXAMPLES[`${method.toUpperCase()} ${path}`];
      if (example !== undefined)
        for (const media of Object.values(op.requestBody?.content ?? {})) media.example ??= example;
      applyQueryRules(op.parameters ?? []);
      if (routes) applyPathRules(op.parameters ?? [], routes);
      optionalEmptyBody(op, doc.components.schemas);
      const secured = Boolean(op.security?.length);
      const writes = ['post', 'put', 'patch', 'delete'].includes(method);
      // Whatever the route: 400 (a NUL in the query, a request that is not valid HTTP), 408 (headers
      // too slow), 431 (headers too large) and 503 (the database down) happen before or around it.
      const statuses = new Set<string>(GLOBAL_STATUSES);
      if (secured) ['401', '403', '429'].forEach((s) => statuses.add(s));
      if (path.includes('{')) statuses.add('404');
      if (secured && writes) statuses.add('409');
      // Any write may carry a body, whether it takes one or not: too large, the wrong type, too slow.
      if (writes) ['413', '415', '408'].forEach((s) => statuses.add(s));
      for (const status of Object.keys(op.responses)) if (/^[45]\d\d$/.test(status)) statuses.add(status);
      for (const status of statuses) {
        const existing = op.responses[status];
        const shared = ERROR_RESPONSES[status];
        // A body the route declares itself (health's readiness answer) is its own.
        if (existing?.content) continue;
        // A route's own words about an error (which codes, when) are kept; its body is the Error schema.
        if (existing?.description || !shared) {
          op.responses[status] = {
            description: existing?.description || shared?.[1] || 'Error',
            content: errorContent(),
          };
        } else op.responses[status] = { $ref: `#/components/responses/${shared[0]}` };
      }
      op.responses = Object.fromEntries(Object.entries(op.responses).sort(([a], [b]) => a.localeCompare(b)));
      for (const r of Object.values(op.responses)) if (r.description === '') r.description = 'Success';
    }
  }
  declareTagsAndServer(doc as unknown as OpenAPIObject);
  // Shared responses no operation uses are left out (a linter's "unused component"), except 405:
  // it is what every path answers for a method it does not list, described once.
  const used = JSON.stringify(doc.paths);
  for (const name of Object.keys(doc.components.responses))
    if (name !== 'MethodNotAllowed' && !used.includes(`"#/components/responses/${name}"`))
      delete doc.components.responses[name];
  toOpenApi31(doc);
  return doc as unknown as OpenAPIObject;
}

/**
 * Every tag an operation names is declared at the top, in order of first use (Spectral's
 * `operation-tag-defined`), and the document names its server: the origin it is served from
 * (`/`; the paths carry `/api`), so generated clients and proxies need no base URL of their own.
 */
function declareTagsAndServer(doc: OpenAPIObject): void {
  const declared = new Map((doc.tags ?? []).map((t) => [t.name, t]));
  for (const item of Object.values(doc.paths))
    for (const [method, op] of Object.entries(item as Record<string, { tags?: string[] }>))
      if (HTTP_METHODS.includes(method))
        for (const name of op.tags ?? []) if (!declared.has(name)) declared.set(name, { name });
  doc.tags = [...declared.values()];
  doc.servers = [{ url: '/', description: 'This service (every path starts with /api)' }];
}

/**
 * A JSON body whose every property is optional (remarks on a withdrawal, a PATCH) may be left out:
 * the global ValidationPipe reads a missing body as `{}`. @nestjs/swagger marks every `@Body()`
 * required, which made a proxy validator (Prism) refuse `POST /api/bids/:id/close` sent without one.
 */
function optionalEmptyBody(op: Operation, schemas: Record<string, Schema>): void {
  const content = op.requestBody?.content;
  if (!content || Object.keys(content).join() !== 'application/json') return;
  const ref = content['application/json'].schema?.$ref;
  const schema = typeof ref === 'string' ? schemas[ref.replace('#/components/schemas/', '')] : undefined;
  if (schema?.type === 'object' && !(schema.required as string[] | undefined)?.length)
    op.requestBody!.required = false;
}

/** OpenAPI 3.0's `nullable` in 3.1's JSON Schema form, everywhere in the document. */
function toOpenApi31(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(toOpenApi31);
  if (!node || typeof node !== 'object') return;
  const s = node as Schema;
  for (const v of Object.values(s)) toOpenApi31(v);
  if (s.nullable !== true) {
    if (s.nullable === false) delete s.nullable;
    return;
  }
  delete s.nullable;
  const allOf = s.allOf as Schema[] | undefined;
  if (allOf?.length === 1 || typeof s.$ref === 'string') {
    const ref = allOf?.length === 1 ? allOf[0] : { $ref: s.$ref };
    delete s.allOf;
    delete s.$ref;
    delete s.type;
    s.oneOf = [ref, { type: 'null' }];
  } else if (typeof s.type === 'string') {
    s.type = [s.type, 'null'];
    if (Array.isArray(s.enum) && !s.enum.includes(null)) s.enum = [...(s.enum as unknown[]), null];
  } else if (Array.isArray(s.type) && !s.type.includes('null')) s.type = [...(s.type as string[]), 'null'];
}

type Rule = { propertyName: string; name?: string; type: string; constraints?: unknown[]; each?: boolean };

/** The class-validator rules by validated class (the global pipe's). */
function validatedClasses(): Map<{ name: string }, Rule[]> {
  const storage = getMetadataStorage() as unknown as { validationMetadatas?: Map<{ name: string }, Rule[]> };
  return storage.validationMetadatas ?? new Map();
}

/**
 * The class-validator rules of every validated class the document has a schema for: the global
 * pipe refuses unknown properties (`additionalProperties: false`) and values outside these limits,
 * so the document says so.
 */
function applyValidationRules(schemas: Record<string, Schema>, routeClasses: ClassRef[]): void {
  const validated = validatedClasses();
  for (const target of new Set<ClassRef>([...(validated.keys() as Iterable<ClassRef>), ...routeClasses])) {
    const schema = schemas[target.name];
    if (!schema || schema.type !== 'object') continue;
    // A class's rules and those it inherits (`PartialType(CreateBidDto)` registers them on the
    // class it makes, which the derived class extends): a PATCH body was documented without its
    // limits (probe 22).
    const rules: Rule[] = [];
    for (
      let c: unknown = target;
      typeof c === 'function' && c !== Function.prototype;
      c = Object.getPrototypeOf(c)
    )
      rules.push(...(validated.get(c as { name: string }) ?? []));
    if (!rules.length) continue;
    schema.additionalProperties = false;
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    for (const rule of rules)
      if (properties[rule.propertyName]) applyRule(properties[rule.propertyName], rule);
  }
}

/** Path parameters every route parses as a UUID, or as a whole number (openapi-routes.ts). */
function applyPathRules(
  parameters: { in: string; name: string; schema?: Schema }[],
  routes: RouteFacts,
): void {
  for (const p of parameters) {
    if (p.in !== 'path' || !p.schema) continue;
    if (routes.uuidParams.has(p.name)) p.schema.format = 'uuid';
    if (routes.intParams.has(p.name)) Object.assign(p.schema, { type: 'integer', minimum: 1 });
  }
}

/**
 * The same limits on query parameters: an operation's query parameters are the properties of its
 * query DTO, found as the validated class with exactly those property names.
 */
function applyQueryRules(parameters: { in: string; name: string; schema?: Schema }[]): void {
  const query = parameters.filter((p) => p.in === 'query' && p.schema);
  if (!query.length) return;
  const names = new Set(query.map((p) => p.name));
  for (const [, rules] of validatedClasses()) {
    const props = new Set(rules.map((r) => r.propertyName));
    if (props.size !== names.size || [...names].some((n) => !props.has(n))) continue;
    for (const rule of rules) applyRule(query.find((p) => p.name === rule.propertyName)!.schema!, rule);
    return;
  }
}

function applyRule(property: Schema, rule: Rule): void {
  const isArray = property.type === 'array';
  const target = rule.each && isArray ? ((property.items ?? {}) as Schema) : property;
  if (target.$ref || target.allOf) return;
  const c = rule.constraints ?? [];
  switch (rule.name ?? rule.type) {
    case 'maxLength':
      target.maxLength = c[0];
      break;
    case 'minLength':
      target.minLength = c[0];
      break;
    case 'isLength':
      target.minLength = c[0];
      if (c[1] !== undefined) target.maxLength = c[1];
      break;
    case 'isNotEmpty':
      if (target.type === 'string') target.minLength ??= 1;
      break;
    case 'min':
      target.minimum = c[0];
      break;
    case 'max':
      target.maximum = c[0];
      break;
    case 'isInt':
      target.type = 'integer';
      break;
    case 'arrayMaxSize':
      if (isArray) property.maxItems = c[0];
      break;
    case 'arrayMinSize':
      if (isArray) property.minItems = c[0];
      break;
    case 'arrayNotEmpty':
      if (isArray) property.minItems ??= 1;
      break;
    case 'isUuid':
      target.format = 'uuid';
      break;
    case 'isEmail':
      target.format = 'email';
      break;
    case 'matches':
      if (c[0] instanceof RegExp && !c[0].flags) target.pattern = c[0].source;
      else if (typeof c[0] === 'string' && !c[1]) target.pattern = c[0];
      break;
    case 'isIn':
      if (Array.isArray(c[0]) && !target.enum) target.enum = c[0];
      break;
    case 'arrayUnique':
      if (isArray) property.uniqueItems = true;
      break;
    case 'isOdsCode':
      target.pattern = ODS_CODE.source;
      break;
    case 'isCalendarDate':
      target.format = 'date';
      break;
  }
}
