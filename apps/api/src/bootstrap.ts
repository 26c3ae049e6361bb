import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet from 'helmet';
import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger, PinoLogger } from 'nestjs-pino';
import { Options as HttpLoggerOptions, pinoHttp } from 'pino-http';
import {
  CORE_ERRORS,
  AppConfig,
  genReqId,
  hasLoneSurrogate,
  jsonDepth,
  httpLoggerOptions,
  jsonShape,
  MAX_JSON_CONTAINERS,
  MAX_JSON_DEPTH,
  MAX_JSON_KEYS,
  MAX_JSON_VALUES,
  ValidationError,
} from '@custodian/core';
import { inlineScriptHashes, portalPrefixExclusions, registerPortal } from '@custodian/portal';
import { AuthService } from '@custodian/auth';
import { ApiModule } from './api.module';
import { withIdempotencyKey } from './idempotency-openapi';
import { registerBodyPolicy, registerStreamedParser } from './body-policy';
import { registerNulGuard } from './nul-guard';
import { clientErrorHandler, frameworkErrors, refuseWhileClosing, refuseWithoutHost } from './http-errors';
import { registerMethodNotAllowed } from './method-not-allowed';
import { finishOpenApiDocument } from './openapi';
import { routeFacts } from './openapi-routes';

/**
 * Content types whose bodies are streamed to an upload route's handler (extracts, CSV loads,
 * cohorts; the portal's upload forms, `@UploadForm`); only the route that declares the type gets one.
 */
export const STREAMED_TYPES = [
  'application/x-ndjson',
  'application/fhir+ndjson',
  'text/csv',
  'text/plain',
  'multipart/form-data',
];
export const JSON_BODY_LIMIT = 1024 * 1024;

/** JSON bodies' decoder: UTF-8, refusing invalid bytes (`fatal`). */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

export function openApiDocument(app: INestApplication) {
  const doc = new DocumentBuilder()
    .setTitle('Custodian')
    .setDescription(
      'Data-access requests and releases of GP, hospital and social-care data. Sign in with POST /api/auth/login and send the access token as a Bearer token. Every error answers `{statusCode, error, message, code}` (the Error schema) with a stable `code`; unknown properties in a body, and query parameters a route does not declare, are refused with 400. A method a path does not list is answered 405 with `Allow` (the MethodNotAllowed response).',
    )
    .setVersion(process.env.npm_package_version ?? '0.1.0')
    .addBearerAuth()
    .build();
  return finishOpenApiDocument(withIdempotencyKey(SwaggerModule.createDocument(app, doc)), routeFacts(app));
}

/** Builds the whole HTTP application on a migrated database. Used by main.ts and by the tests. */
export async function createApiApp(config: AppConfig, databaseUrl: string): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: JSON_BODY_LIMIT,
    genReqId,
    requestIdHeader: false,
    trustProxy: false,
    // While closing, requests still arriving on open connections are refused with 503 (below, with
    // the error contract's body: Fastify's own had no `code`).
    return503OnClosing: false,
    // Slowloris: headers within HTTP_HEADERS_TIMEOUT_SECONDS, checked every second (Node checks
    // every 30 s by default, which would let a trickling client hold its socket 30 s longer). No
    // flat request timeout (Node's default is 300 s): a large honest upload takes longer than any
    // flat bound, so bodies are held to a minimum rate instead (body-policy.ts).
    http: {
      // A request without Host is refused by the service, with the error body (http-errors.ts).
      requireHostHeader: false,
      headersTimeout: config.httpHeadersTimeoutSeconds * 1000,
      requestTimeout: 0,
      connectionsCheckingInterval: 1000,
    },
    requestTimeout: 0,
    clientErrorHandler,
    frameworkErrors,
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    ApiModule.forRoot({ config, databaseUrl }),
    adapter,
    {
      bufferLogs: true,
      abortOnError: false,
    },
  );
  app.useLogger(app.get(Logger));
  // The API lives under /api; the portal's pages (libs/portal) are served from / by the same app.
  app.setGlobalPrefix('api', { exclude: portalPrefixExclusions() });
  app.enableShutdownHooks();

  const fastify = app.getHttpAdapter().getInstance();
  refuseWhileClosing(fastify);
  refuseWithoutHost(fastify, fastify.server);
  // The access log: one line per request, API, portal and assets alike, from a Fastify hook on the
  // application's root logger. As nestjs-pino's Nest middleware it was mounted once per route
  // pattern, and the portal's `/` (outside the prefix) is mounted by the Fastify adapter on the
  // prefix's root: every GET of the API was logged twice.
  let accessLog: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  fastify.addHook('onRequest', (req, reply, done) => {
    accessLog ??= pinoHttp<IncomingMessage, ServerResponse>({
      ...(httpLoggerOptions(config) as HttpLoggerOptions<IncomingMessage, ServerResponse>),
      logger: PinoLogger.root,
    });
    // Fastify's id (made by the same `genReqId`): pino-http takes it rather than making it again.
    (req.raw as IncomingMessage & { id?: string }).id = req.id;
    accessLog(req.raw, reply.raw);
    done();
  });
  // Security headers (helmet's defaults plus our CSP), built once: `@fastify/helmet` builds the
  // whole middleware, CSP parsing included, again on every request.
  const securityHeaders = helmet({
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        // No 'unsafe-inline': the templates' inline scripts are allowed by their hashes alone.
        scriptSrc: ["'self'", ...inlineScriptHashes()],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
      },
    },
    // Referer to this site's own pages only (the refusal page's "Back" link reads it), never to
    // another origin: helmet's default, no-referrer, left the link out in every browser (a review).
    referrerPolicy: { policy: 'same-origin' },
  });
  fastify.addHook('onRequest', (req, reply, done) => {
    reply.header('x-request-id', req.id);
    // API answers and portal pages carry tokens or personal data: never stored by a browser or a
    // proxy. Static assets (and any handler that says otherwise) may be cached.
    if (!req.url.startsWith('/assets/')) reply.header('Cache-Control', 'no-store');
    securityHeaders(req.raw, reply.raw, (err?: unknown) => done(err as Error | undefined));
  });
  // Before any route is added: it learns the API's paths and methods as they are.
  registerMethodNotAllowed(fastify);
  await registerPortal(app, config);
  registerBodyPolicy(fastify, {
    minBytesPerSecond: config.httpBodyMinBytesPerSecond,
    windowSeconds: config.httpBodyWindowSeconds,
  });
  // Patient-level bodies are not buffered here: the upload's handler spools the stream itself.
  registerStreamedParser(fastify, STREAMED_TYPES);
  registerNulGuard(fastify);

  if (config.apiDocs !== 'off') {
    SwaggerModule.setup('api/docs', app, () => openApiDocument(app), { jsonDocumentUrl: 'api/docs-json' });
    // API_DOCS=authenticated (production's default): the document and its UI for signed-in users only.
    if (config.apiDocs === 'authenticated')
      fastify.addHook('onRequest', async (req, reply) => {
        // By the matched route, not the raw URL: `/api/%64ocs-json` reaches the same handler.
        if (!/^\/api\/docs([-/]|$)/.test(req.routeOptions.url ?? '')) return;
        if (await app.get(AuthService, { strict: false }).principalFromBearer(req.headers.authorization))
          return;
        reply.code(401).header('cache-control', 'no-store').type('application/json').send({
          statusCode: 401,
          error: 'Unauthorized',
          message: 'The API documentation is for signed-in users (API_DOCS=authenticated)',
          code: 'AUTHENTICATION_REQUIRED',
        });
        return reply;
      });
  }
  await app.init();
  // JSON (replacing the parser Nest registers in init()): Fastify's own parser (prototype poisoning
  // refused), after a depth check: a body nested thousands of levels deep would otherwise overflow
  // the stack in class-transformer (a 500). Every JSON body route takes an object: an array, a
  // string, a number or null is refused here, before a guard or pipe handles it.
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, raw, done) => {
    // Strict UTF-8 (a byte order mark read past): invalid bytes were read as U+FFFD and stored so
    // (an outsider's probe, 2026-12-07), where the uploads refuse them.
    let body: string;
    try {
      body = STRICT_UTF8.decode(raw as Buffer);
    } catch {
      return done(
        new ValidationError(CORE_ERRORS.INVALID_JSON, 'Request body is not valid JSON: it is not UTF-8'),
        undefined,
      );
    }
    // No body at all with a JSON content type (many clients send the header by default): an empty
    // object, so a route that takes no body answers as without one, and one that needs a body says
    // which fields are missing (was 400 "Body cannot be empty…" on every route, an outsider's probe).
    if (body.trim() === '') return done(null, {});
    if (jsonDepth(body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH)
      return done(
        new ValidationError(
          'JSON_TOO_DEEP',
          `Request body is nested more than ${MAX_JSON_DEPTH} levels deep`,
        ),
        undefined,
      );
    parseJson(req, body, (err: Error | null, value?: unknown) => {
      // A prototype key is refused as before, but said so: the body is valid JSON (probe-17), which
      // the parser's error does not tell apart.
      if (err && parsesAsJson(body))
        return done(
          new ValidationError(
            CORE_ERRORS.INVALID_JSON,
            'Request body holds a key that is not accepted (__proto__, or constructor with prototype)',
          ),
          undefined,
        );
      if (err) return done(err, undefined);
      // Before any DTO is built from it: class-transformer's time is quadratic in an object's keys,
      // and each object of an array of DTOs is a DTO with its own errors.
      const shape = jsonShape(value);
      if (
        shape.widest > MAX_JSON_KEYS ||
        shape.containers > MAX_JSON_CONTAINERS ||
        shape.values > MAX_JSON_VALUES
      )
        return done(
          new ValidationError(
            'JSON_TOO_WIDE',
            `Request body has an object of more than ${MAX_JSON_KEYS} properties, more than ${MAX_JSON_CONTAINERS} objects and arrays, or more than ${MAX_JSON_VALUES} values`,
          ),
          undefined,
        );
      // A lone surrogate spelled as an escape is valid JSON but not text (probe 32: a 500 on sign-in).
      if (hasLoneSurrogate(value))
        return done(
          new ValidationError(
            CORE_ERRORS.INVALID_JSON,
            'Request body is not valid JSON text: a string holds a lone UTF-16 surrogate (\\uD800–\\uDFFF unpaired)',
          ),
          undefined,
        );
      if (value === null || typeof value !== 'object' || Array.isArray(value))
        return done(
          new ValidationError(CORE_ERRORS.JSON_NOT_OBJECT, 'The request body must be a JSON object'),
          undefined,
        );
      done(null, value);
    });
  });
  await fastify.ready();
  return app;
}

/** Whether `text` is JSON to the plain parser (the default one refuses prototype keys besides). */
function parsesAsJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
