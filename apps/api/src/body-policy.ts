import { Socket } from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AUTH_ERRORS } from '@custodian/auth';
import {
  CORE_ERRORS,
  BodyTooSlowError,
  DomainError,
  mediaType,
  type PublicRouteConfig,
  type StreamedBodyConfig,
  UnauthorizedError,
  UnsupportedMediaTypeError,
} from '@custodian/core';

/** Methods whose body Fastify reads (GET and HEAD bodies are never parsed, so never checked). */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export interface BodyRateOptions {
  /** The least a body must average over each window, in bytes a second. */
  minBytesPerSecond: number;
  /** The window the rate is measured over; a JSON body must also arrive whole within one window. */
  windowSeconds: number;
}

/** The upload route's declared content type (`@StreamedBody`), if this is an upload route. */
export function streamedType(req: FastifyRequest): string | undefined {
  return (req.routeOptions.config as StreamedBodyConfig | undefined)?.streamedBody;
}

/** The upload route's content types, as a 415 names them ("application/x-ndjson or …"). */
function acceptedTypes(req: FastifyRequest): string {
  const config = req.routeOptions.config as StreamedBodyConfig | undefined;
  return [config?.streamedBody, ...(config?.streamedAliases ?? [])].filter(Boolean).join(' or ');
}

/** Whether `type` is the upload route's declared content type or one of its aliases. */
function takesType(req: FastifyRequest, type: string | undefined): boolean {
  const config = req.routeOptions.config as StreamedBodyConfig | undefined;
  return type !== undefined && (type === config?.streamedBody || !!config?.streamedAliases?.includes(type));
}

function hasBody(req: FastifyRequest): boolean {
  const length = Number(req.headers['content-length'] ?? 0);
  return length > 0 || req.headers['transfer-encoding'] !== undefined;
}

/**
 * Passes a request body through while measuring it: every `windowSeconds` at least
 * `minBytesPerSecond × windowSeconds` bytes must have arrived since the last check, and a body with
 * a `deadlineSeconds` must end within it. Otherwise the stream fails with BodyTooSlowError (408),
 * whoever reads it (Fastify's JSON reader, an upload's spool). A flat timeout cannot tell a slow
 * client from a large honest upload (a 2 GB extract takes minutes); a minimum rate can.
 */
export class MinimumRate extends Transform {
  private received = 0;
  private checked = 0;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(opts: BodyRateOptions & { deadlineSeconds?: number }) {
    super();
    const minBytes = opts.minBytesPerSecond * opts.windowSeconds;
    const every = setInterval(() => {
      // Bytes waiting for a reader (a guard still querying, the disk busy) are not the client's
      // slowness: a window in which this side did not read is not held against it.
      const unread = this.readableLength >= this.readableHighWaterMark;
      if (!unread && this.received - this.checked < minBytes)
        this.destroy(
          new BodyTooSlowError(
            `The request body arrived slower than ${opts.minBytesPerSecond} bytes a second over ${opts.windowSeconds} s`,
          ),
        );
      this.checked = this.received;
    }, opts.windowSeconds * 1000);
    every.unref();
    this.timers.push(every);
    if (opts.deadlineSeconds !== undefined) {
      const deadline = setTimeout(
        () =>
          this.destroy(
            new BodyTooSlowError(`The request body did not arrive within ${opts.deadlineSeconds} s`),
          ),
        opts.deadlineSeconds * 1000,
      );
      deadline.unref();
      this.timers.push(deadline);
    }
    // A handler that refused the request before reading its body attaches no listener: the error
    // must not become an uncaught exception (the connection is closed by registerBodyPolicy).
    this.on('error', () => undefined);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.received += chunk.length;
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    this.stop();
    done();
  }

  override _destroy(err: Error | null, done: (error?: Error | null) => void): void {
    this.stop();
    done(err);
  }

  stop(): void {
    for (const t of this.timers.splice(0)) clearTimeout(t);
  }
}

/** A request's measured body, while it is being read. */
const measuredBodies = new WeakMap<FastifyRequest, MinimumRate>();
/** Requests whose body fell below the minimum rate: their connection is closed with the answer. */
const tooSlow = new WeakSet<FastifyRequest>();

/**
 * After a response sent before its request's body was read (a 401, 404 or 429 to an upload), what
 * the client still sends is read and dropped for at most LINGER_MS / LINGER_BYTES, so an honest
 * client reads the answer rather than a reset; then the connection is closed. Node would otherwise
 * leave the socket open with the body half read, for as long as the client cares to trickle.
 */
const LINGER_MS = 2000;
const LINGER_BYTES = 1024 * 1024;

/**
 * The request's network connection; none for the portal's in-process calls (`inject`), whose
 * requests have a stand-in socket and whose bodies are never trickled.
 */
function connectionOf(req: FastifyRequest): Socket | undefined {
  const socket: unknown = req.raw.socket;
  return socket instanceof Socket ? socket : undefined;
}

function lingerThenClose(req: FastifyRequest, socket: Socket): void {
  measuredBodies.get(req)?.stop();
  const raw = req.raw;
  raw.unpipe();
  let drained = 0;
  const close = () => socket.destroy();
  const timer = setTimeout(close, LINGER_MS);
  timer.unref();
  raw.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > LINGER_BYTES) close();
  });
  raw.once('end', () => clearTimeout(timer));
  raw.once('close', () => clearTimeout(timer));
  raw.resume();
}

/**
 * Which body each route takes, enforced before any parser, guard or pipe sees it:
 * - an upload route (`@StreamedBody(type)`) takes exactly its content type, streamed;
 * - every other API route takes `application/json` (an object, checked by the JSON parser) or no
 *   body; anything else is 415. The portal's pages (outside /api) keep their urlencoded forms.
 * Every body is measured by MinimumRate (a JSON body must also arrive within one window); a body
 * below the rate is answered 408 and its connection closed.
 */
export function registerBodyPolicy(fastify: FastifyInstance, rate: BodyRateOptions): void {
  fastify.addHook('preParsing', (req, reply, payload, done) => {
    if (!BODY_METHODS.has(req.method)) return done(null, payload);
    // No such route: the 404 handler answers, whatever the body is (not this method: 405 was
    // answered already, method-not-allowed.ts).
    if (req.is404) return done(null, payload);
    // No credentials for a route that needs them: 401 before the body is looked at (an outsider's
    // probe, 2026-12-06: a bad body without a token was 400 or 415, contrary to SPEC §7). Whether a
    // token is good is the guard's to say.
    if (
      (req.routeOptions.url ?? '').startsWith('/api/') &&
      !(req.routeOptions.config as PublicRouteConfig | undefined)?.publicRoute &&
      !req.headers.authorization
    )
      return done(new UnauthorizedError(AUTH_ERRORS.UNAUTHENTICATED, 'Authentication required'), undefined);
    // A compressed body is not read as if it were plain (a `deflate` body was parsed as JSON): no
    // route takes one (RFC 9110 §15.5.16: 415 for a content coding the resource does not accept).
    const coding = String(req.headers['content-encoding'] ?? '')
      .trim()
      .toLowerCase();
    if (coding && coding !== 'identity' && hasBody(req))
      return done(
        new DomainError(
          CORE_ERRORS.UNSUPPORTED_MEDIA_TYPE,
          `Send the body uncompressed (Content-Encoding ${coding.slice(0, 20)} is not accepted)`,
          415,
        ),
        undefined,
      );
    const type = mediaType(req.headers['content-type']);
    const streamed = streamedType(req);
    const url = req.routeOptions.url ?? '';
    if (streamed !== undefined) {
      if (!takesType(req, type)) return done(new UnsupportedMediaTypeError(acceptedTypes(req)), undefined);
      // Uploads are read as UTF-8: a body declared in another charset would be read as something it
      // is not (an outsider's probe, 2026-12-06: iso-8859-1 was taken as UTF-8). 415, as for a type.
      const refused = notUtf8(req.headers['content-type']);
      if (refused) return done(refused, undefined);
    } else if (url.startsWith('/api/') && type !== undefined && type !== 'application/json')
      return done(new UnsupportedMediaTypeError('application/json (an object)'), undefined);
    if (!hasBody(req)) return done(null, payload);
    // JSON is UTF-8 too (RFC 8259 §8.1): `charset=iso-8859-1` was read as UTF-8 and a name stored
    // with U+FFFD in it (an outsider's probe, 2026-12-07). Only where there is a body to read.
    if (streamed === undefined && url.startsWith('/api/') && type === 'application/json') {
      const refused = notUtf8(req.headers['content-type']);
      if (refused) return done(refused, undefined);
    }
    const measured = new MinimumRate({
      ...rate,
      deadlineSeconds: streamed ? undefined : rate.windowSeconds,
    });
    measuredBodies.set(req, measured);
    // pipe() does not pass a source's end on error: a client gone mid-body must fail the reader
    // (an upload's spool), or it would wait for ever holding the caller's upload slot.
    const gone = () =>
      measured.destroy(
        new DomainError(
          CORE_ERRORS.CLIENT_CLOSED,
          'The connection closed before the request body ended',
          400,
        ),
      );
    payload.once('error', gone);
    req.raw.once('close', () => (req.raw.complete || !connectionOf(req) ? measured.stop() : gone()));
    measured.once('error', (err) => {
      payload.unpipe(measured);
      if (!(err instanceof BodyTooSlowError)) return;
      tooSlow.add(req);
      // Nobody was reading any more (the answer has gone): close now.
      if (reply.raw.headersSent) connectionOf(req)?.destroy();
    });
    payload.pipe(measured);
    done(null, measured);
  });
  fastify.addHook('onSend', (req, reply, payload, done) => {
    if (tooSlow.has(req)) reply.header('connection', 'close');
    done(null, payload);
  });
  fastify.addHook('onResponse', (req, _reply, done) => {
    const socket = connectionOf(req);
    if (socket && !req.raw.complete && !req.raw.destroyed && !tooSlow.has(req)) lingerThenClose(req, socket);
    done();
  });
}

/**
 * The parser of the streamed content types: hands the (measured) stream to the handler, on the
 * upload route that declared this type only (the preParsing hook has already refused the others;
 * this is the second lock on the same door).
 */
export function registerStreamedParser(fastify: FastifyInstance, types: string[]): void {
  fastify.addContentTypeParser(types, (req, payload, done) => {
    if (req.is404) return done(null, payload);
    const streamed = streamedType(req);
    if (streamed === undefined || !takesType(req, mediaType(req.headers['content-type'])))
      return done(
        new UnsupportedMediaTypeError(streamed ? acceptedTypes(req) : 'application/json (an object)'),
        undefined,
      );
    done(null, payload);
  });
}

/** The 415 for a body declared in a charset other than UTF-8 (every body the API reads is UTF-8). */
function notUtf8(contentType: string | string[] | undefined): DomainError | undefined {
  const charset = charsetOf(String(contentType ?? ''));
  // US-ASCII is UTF-8's first 128 characters: a body in it is UTF-8 (a review, 2026-12-07).
  if (!charset || /^(utf-?8|us-ascii|ascii)$/i.test(charset)) return undefined;
  return new DomainError(
    CORE_ERRORS.UNSUPPORTED_MEDIA_TYPE,
    `Send the body as UTF-8 (charset ${charset.slice(0, 20)} is not accepted)`,
    415,
  );
}

/**
 * The `charset` parameter of a media type (RFC 9110 §5.6.6: `;`-separated `name=value`, a value a
 * token or a quoted string), parameter by parameter: `profile="a;charset=latin1"` has no charset
 * (a pattern over the whole header found one inside the quotes: a review, 2026-12-07).
 */
function charsetOf(contentType: string): string | undefined {
  const param = /;\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)/g;
  for (let m = param.exec(contentType); m; m = param.exec(contentType))
    if (m[1].toLowerCase() === 'charset') return m[2].replace(/^"|"$/g, '').replace(/\\(.)/g, '$1');
  return undefined;
}
