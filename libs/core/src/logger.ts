import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { hostname } from 'node:os';
import type { IncomingMessage } from 'node:http';
import { Params } from 'nestjs-pino';
import type { AppConfig } from './config';

const REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/;

/**
 * One request id per request, always made here, shared by Fastify (`request.id`, the response
 * header) and pino-http (every log line). A client's own `X-Request-Id` is never the id (it would
 * let a client forge correlation in the audit trail): it is kept, if well-formed, as the labelled
 * `clientRequestId`. The portal's calls into the API (in-process, or loopback for file streams)
 * carry the portal request's id and the browser's address in a header sealed with a key that
 * exists only in this process's memory, so the audit names the real client and request.
 */
const CLIENT_REQUEST_ID = Symbol('clientRequestId');
const INTERNAL_CLIENT_IP = Symbol('internalClientIp');
const INTERNAL_KEY = randomBytes(32).toString('hex');
export const INTERNAL_CALL_HEADER = 'x-custodian-internal-call';

type TaggedRequest = IncomingMessage & { [CLIENT_REQUEST_ID]?: string; [INTERNAL_CLIENT_IP]?: string };

/** Headers for a call by this process into its own API on behalf of a client request. */
export function internalCallHeaders(requestId: string, clientIp: string): Record<string, string> {
  return { [INTERNAL_CALL_HEADER]: `${INTERNAL_KEY} ${requestId} ${clientIp}` };
}

function readInternalCall(req: IncomingMessage): { requestId: string; ip: string } | undefined {
  const v = req.headers[INTERNAL_CALL_HEADER];
  if (v === undefined) return undefined;
  delete req.headers[INTERNAL_CALL_HEADER];
  const [key, requestId, ip] = typeof v === 'string' ? v.split(' ') : [];
  if (!key || !requestId || !ip || key.length !== INTERNAL_KEY.length) return undefined;
  if (!timingSafeEqual(Buffer.from(key), Buffer.from(INTERNAL_KEY))) return undefined;
  return REQUEST_ID.test(requestId) && ip.length <= 64 ? { requestId, ip } : undefined;
}

export function genReqId(req: IncomingMessage): string {
  const tagged = req as TaggedRequest;
  const internal = readInternalCall(req);
  if (internal) tagged[INTERNAL_CLIENT_IP] = internal.ip;
  const given = req.headers['x-request-id'];
  if (typeof given === 'string' && REQUEST_ID.test(given)) tagged[CLIENT_REQUEST_ID] = given;
  return internal?.requestId ?? randomUUID();
}

/** The client's own request id, if it sent a well-formed one (a label, never the request's id). */
export function clientRequestId(req: IncomingMessage): string | undefined {
  return (req as TaggedRequest)[CLIENT_REQUEST_ID];
}

/** The browser's address when the portal called the API on its behalf. */
export function internalClientIp(req: IncomingMessage): string | undefined {
  return (req as TaggedRequest)[INTERNAL_CLIENT_IP];
}

/** Nest's start-up chatter (one line per module and per route): kept out of the demo's console. */
const STARTUP_CONTEXTS = new Set([
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestFactory',
  'NestApplication',
]);
const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const SKIPPED_KEYS = new Set(['level', 'time', 'pid', 'hostname', 'service', 'context', 'msg', 'req', 'res']);

/** One pino JSON line as a short readable line (demo mode only; production keeps JSON). */
export function readableLogLine(line: string): string | undefined {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const level = Number(o.level);
  if (level <= 30 && STARTUP_CONTEXTS.has(String(o.context))) return undefined;
  const time = new Date(Number(o.time) || Date.now()).toISOString().slice(11, 19);
  const req = o.req as { method?: string; path?: string } | undefined;
  const res = o.res as { statusCode?: number } | undefined;
  const parts = [time, (LEVELS[level] ?? String(level)).padEnd(5)];
  if (o.context) parts.push(`[${String(o.context)}]`);
  if (req?.method) parts.push(`${req.method} ${req.path ?? ''} ${res?.statusCode ?? ''}`.trim());
  parts.push(String(o.msg ?? ''));
  const extra = Object.entries(o)
    .filter(([k]) => !SKIPPED_KEYS.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  return `${parts.join(' ')}${extra.length ? ` ${extra.join(' ')}` : ''}\n`;
}

/** The demo's console: readable lines, without Nest's start-up chatter, written to stdout. */
export function readableLogStream(write: (s: string) => void = (s) => process.stdout.write(s)) {
  return {
    write(line: string) {
      const out = readableLogLine(line);
      if (out) write(out);
    },
  };
}

/** JSON logs; never bodies, tokens, cookies or query strings (which can carry identifiers). */
export function loggerParams(config: Pick<AppConfig, 'logLevel'> & Partial<Pick<AppConfig, 'mode'>>): Params {
  const options = httpLoggerOptions(config);
  // Demo mode (npm start on a laptop) prints readable lines; production (and tests) keep JSON.
  return { pinoHttp: config.mode === 'demo' ? [options, readableLogStream()] : options };
}

/** pino-http's options (the same in every mode; only the demo's destination differs). */
export function httpLoggerOptions(config: Pick<AppConfig, 'logLevel'>) {
  return {
    level: config.logLevel,
    genReqId: (req) => genReqId(req),
    // The service name in the base bindings, serialised once: as pino-http `customProps` it would
    // make a child logger on every request, and a check on every response.
    base: { pid: process.pid, hostname: hostname(), service: 'custodian' },
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'],
      censor: '[redacted]',
    },
    serializers: {
      req: (req: {
        id: string;
        method: string;
        url: string;
        remoteAddress?: string;
        raw: IncomingMessage;
      }) => ({
        id: req.id,
        method: req.method,
        path: String(req.url).split('?')[0],
        remoteAddress: (req.raw && internalClientIp(req.raw)) ?? req.remoteAddress,
        clientRequestId: req.raw ? clientRequestId(req.raw) : undefined,
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    customLogLevel: (_req, res, err) =>
      err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
    autoLogging: { ignore: (req: IncomingMessage) => req.url?.split('?')[0] === '/api/health' },
  } satisfies Exclude<Params['pinoHttp'], unknown[] | undefined>;
}
