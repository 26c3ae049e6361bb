import type { FastifyInstance } from 'fastify';
import { ValidationError } from '@custodian/core';

/**
 * Where a value holds U+0000 (NUL): the path of the first string or key that does (`title`,
 * `datasets.0.fields.1`), or undefined. Depth is bounded by the JSON parser's depth check before
 * this runs.
 */
export function nulAt(value: unknown, path = ''): string | undefined {
  if (typeof value === 'string') return value.includes('\0') ? path || 'a value' : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  // An upload's stream or a buffer is not walked (a parsed query is an object of no usual prototype).
  if (ArrayBuffer.isView(value) || typeof (value as { pipe?: unknown }).pipe === 'function') return undefined;
  for (const [k, v] of Object.entries(value)) {
    const at = path ? `${path}.${k}` : k;
    if (k.includes('\0')) return at;
    const found = nulAt(v, at);
    if (found) return found;
  }
  return undefined;
}

/**
 * PostgreSQL text cannot hold U+0000, so a value with one failed in SQL as a 500 (a bid's title, a
 * register filter, a release file's name: an outsider's probe, 2026-12-06). Every API request's
 * query, path parameters and JSON body are refused with a 400 naming the field instead, before any
 * guard or handler reads them. Streamed bodies (CSV, NDJSON) are read by their own parsers, which
 * refuse the line that holds one.
 */
export function registerNulGuard(fastify: FastifyInstance): void {
  fastify.addHook('preValidation', (req, _reply, done) => {
    // By the matched route, not the raw URL: `/%61pi/…` and `http://host/api/…` reach the same handlers.
    if (!(req.routeOptions.url ?? '').startsWith('/api/')) return done();
    const at = nulAt(req.params) ?? nulAt(req.query) ?? nulAt(req.body);
    if (at)
      return done(
        new ValidationError(
          'VALIDATION_FAILED',
          `${at} holds the character U+0000 (NUL), which is not accepted`,
        ),
      );
    done();
  });
}
