import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { IncomingMessage } from 'node:http';
import { Params } from 'nestjs-pino';
import type { AppConfig } from './config';

const REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/;

/**
 * One request id per request, shared by Fastify (`request.id`, the response header) and pino-http
 * (every log line): Fastify generates it first and writes it back onto the raw request's header.
 */
export function genReqId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  req.headers['x-request-id'] = id;
  return id;
}

/** JSON logs; never bodies, tokens, cookies or query strings (which can carry identifiers). */
export function loggerParams(config: Pick<AppConfig, 'logLevel'>): Params {
  return {
    pinoHttp: {
      level: config.logLevel,
      genReqId: (req) => genReqId(req),
      // The service name in the base bindings, serialised once: as pino-http `customProps` it made
      // a child logger on every request, and a check on every response (3–4% of an API process's
      // CPU under the bids-list load).
      base: { pid: process.pid, hostname: hostname(), service: 'custodian' },
      redact: {
        paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'],
        censor: '[redacted]',
      },
      serializers: {
        req: (req: { id: string; method: string; url: string; remoteAddress?: string }) => ({
          id: req.id,
          method: req.method,
          path: String(req.url).split('?')[0],
          remoteAddress: req.remoteAddress,
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      customLogLevel: (_req, res, err) =>
        err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
      autoLogging: { ignore: (req) => req.url?.split('?')[0] === '/api/health' },
    },
  };
}
