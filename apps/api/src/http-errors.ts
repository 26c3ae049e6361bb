import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CORE_ERRORS } from '@custodian/core';

/**
 * The error contract ({statusCode, error, message, code}, SPEC §7) for what never reaches a route:
 * a request Node's HTTP parser refuses (a negative or overflowing Content-Length, both it and a
 * chunked body, a broken header line), and a URL Fastify cannot decode (`/api/bids/%zz`). Fastify's
 * own answers carried no `code`, or its internal one (FST_ERR_BAD_URL); an outsider's probe,
 * 2026-12-06.
 */
const body = (statusCode: number, error: string, message: string, code: string) =>
  JSON.stringify({ statusCode, error, message, code });

export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  // Gone already, or nothing to answer on: as Node and Fastify do.
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy(err);
    return;
  }
  const timeout = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
  const status = timeout ? 408 : err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const text =
    status === 408
      ? body(408, 'Request Timeout', 'The request headers did not arrive in time', CORE_ERRORS.BODY_TOO_SLOW)
      : status === 431
        ? body(
            431,
            'Request Header Fields Too Large',
            'The request headers are too large',
            CORE_ERRORS.REQUEST_HEADERS_TOO_LARGE,
          )
        : body(400, 'Bad Request', 'The request is not valid HTTP/1.1', 'BAD_REQUEST');
  const reason =
    status === 408 ? 'Request Timeout' : status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
  // Written, then the socket destroyed, as Node and Fastify do: `end()` alone left a half-open
  // client's socket with the server for as long as it cared to keep it (a slow-headers client past
  // its 408 among them; a review, 2026-12-06).
  socket.write(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
  socket.destroy();
}

/**
 * The portal's answer to an address it cannot read: a page, as every other portal answer is (a
 * browser shown the API's JSON for a mistyped link; a walk-through, 2026-12-06).
 */
const PORTAL_BAD_URL = `<!DOCTYPE html>
<html lang="en-GB"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>This address cannot be read – Custodian</title></head>
<body><main id="main-content"><h1>This address cannot be read</h1>
<p>The link you followed or typed is broken (it holds a malformed % escape).</p>
<p><a href="/">Go to the home page</a></p></main></body></html>
`;

/** Fastify's refusals before routing (a URL or a header it cannot read). */
export function frameworkErrors(
  error: Error & { code?: string },
  req: FastifyRequest,
  reply: FastifyReply,
): void {
  const message =
    error.code === 'FST_ERR_BAD_URL'
      ? 'The request URL is not valid (a malformed percent-escape)'
      : 'The request cannot be read';
  const path = String(req.raw.url ?? '');
  if (!path.startsWith('/api/') && path !== '/api' && !/json/i.test(String(req.headers.accept ?? ''))) {
    void reply
      .code(400)
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(PORTAL_BAD_URL);
    return;
  }
  void reply
    .code(400)
    .header('content-type', 'application/json; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(body(400, 'Bad Request', message, 'BAD_REQUEST'));
}

/**
 * Two answers Node's HTTP server wrote itself, without a body, before the service saw the request
 * (probe 32): an HTTP/1.1 request without a Host header (RFC 9112 §3.2) was a bodiless 400, and an
 * `Expect` other than `100-continue` a bodiless 417, a status no operation declares. Node's own
 * Host check is off (`requireHostHeader: false`, bootstrap.ts) and the request is refused here, the
 * second onRequest hook, with the error body; an expectation the service does not know is ignored
 * (RFC 9110 §10.1.1: a server MAY answer 417) and the request answered as without it.
 */
export function refuseWithoutHost(fastify: FastifyInstance, server: Server): void {
  fastify.addHook('onRequest', (req, reply, done) => {
    // More than one Host line is refused too (RFC 9112 §3.2; Node kept the first and answered 200).
    const hosts = req.raw.rawHeaders.filter((h, i) => i % 2 === 0 && h.toLowerCase() === 'host').length;
    const missing = req.raw.httpVersion === '1.1' && req.headers.host === undefined;
    if (!missing && hosts <= 1) return done();
    // JSON whatever the path: no browser leaves Host out or sends two, and the portal's page is about a bad URL.
    void reply
      .code(400)
      .header('connection', 'close')
      .header('content-type', 'application/json; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(
        body(
          400,
          'Bad Request',
          missing ? 'An HTTP/1.1 request needs a Host header' : 'A request may carry one Host header only',
          'BAD_REQUEST',
        ),
      );
  });
  server.on('checkExpectation', (req, res) => server.emit('request', req, res));
}

/**
 * While the service closes, a request still arriving on an open connection (pipelined, or on a
 * keep-alive connection whose last request is in flight) is refused at once with 503 and the error
 * contract's body, and its connection closed. Fastify's own refusal (`return503OnClosing`) wrote
 * `{error, message, statusCode}`, no `code`: not the Error schema the document declares (a strict
 * sweep, 2026-12-07). The first onRequest hook, so nothing else runs for it.
 */
export function refuseWhileClosing(fastify: FastifyInstance): void {
  let closing = false;
  fastify.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  fastify.addHook('onRequest', (_req, reply, done) => {
    if (!closing) return done();
    void reply
      .code(503)
      .header('connection', 'close')
      .header('content-type', 'application/json; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(
        body(
          503,
          'Service Unavailable',
          'The service is shutting down; try again shortly',
          CORE_ERRORS.SERVICE_UNAVAILABLE,
        ),
      );
  });
}
