import type { FastifyInstance } from 'fastify';
import { CORE_ERRORS } from '@custodian/core';

/** The order `Allow` names methods in. */
const ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

interface Route {
  url: string;
  segments: string[];
  re: RegExp;
  /** Template segments (`:id`, `*`): fewer is more specific. */
  params: number;
  methods: Set<string>;
}

const isParam = (segment: string) => segment.startsWith(':') || segment === '*';

/** A route pattern (`/api/bids/:id`, `/api/docs/*`) as a regular expression over a request's path. */
function routeOf(url: string): Route {
  const segments = url.split('/');
  const re = segments.map((segment) => {
    if (segment === '*') return '.*';
    if (segment.startsWith(':')) return '[^/]+';
    return segment.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&');
  });
  return {
    url,
    segments,
    re: new RegExp(`^${re.join('/')}$`),
    params: segments.filter(isParam).length,
    methods: new Set(),
  };
}

/** Whether `concrete` names some of the paths `template` names, more specifically (`/national-rollout` of `/:ods`). */
const shadows = (concrete: Route, template: Route) =>
  concrete.params < template.params &&
  !concrete.segments.includes('*') &&
  concrete.segments.length === template.segments.length &&
  concrete.segments.every((s, i) => s === template.segments[i] || isParam(template.segments[i]));

/**
 * A method a path of the API does not have is 405 with `Allow` naming those it has (RFC 9110
 * §15.5.6), and the error body (`METHOD_NOT_ALLOWED`), before any credentials or body are looked
 * at: the paths and their methods are public (the OpenAPI document). It was the 404 of an unknown
 * path, which told a client (and a strict OpenAPI tester: an outsider's, 2026-12-07) that
 * `DELETE /api/bids/{id}` named nothing rather than that bids are not deleted. Paths no route has
 * are still 404, and the portal's pages (outside /api) keep their own not-found page.
 *
 * A path is resolved as OpenAPI resolves it, the most specific first: `GET
 * /api/practices/national-rollout` is that path's (POST only: 405), not a practice whose ODS code
 * is "national-rollout" (the router's choice, which answered 401 or 404).
 *
 * Call before any route is added (it learns the routes from Fastify's `onRoute`).
 */
export function registerMethodNotAllowed(fastify: FastifyInstance): void {
  const routes = new Map<string, Route>();
  /** The more specific routes that share paths with a templated one, by its pattern (built on first use). */
  let shadowing: Map<string, Route[]> | undefined;
  fastify.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/api/')) return;
    const known = routes.get(route.url) ?? routes.set(route.url, routeOf(route.url)).get(route.url)!;
    for (const m of [route.method].flat()) known.methods.add(m.toUpperCase());
    shadowing = undefined;
  });
  fastify.addHook('onRequest', (req, reply, done) => {
    const path = decodedPath(req.raw.url ?? '');
    if (!path.startsWith('/api/')) return done();
    let candidates: Route[];
    if (req.is404) candidates = [...routes.values()];
    else {
      shadowing ??= new Map(
        [...routes.values()].map((r) => [r.url, [...routes.values()].filter((c) => shadows(c, r))]),
      );
      candidates = shadowing.get(req.routeOptions.url ?? '') ?? [];
      if (!candidates.length) return done();
    }
    const matching = candidates.filter((r) => r.re.test(path));
    if (!matching.length) return done();
    const specific = Math.min(...matching.map((r) => r.params));
    const allowed = new Set(matching.filter((r) => r.params === specific).flatMap((r) => [...r.methods]));
    // Fastify answers HEAD wherever there is a GET.
    if (allowed.has('GET')) allowed.add('HEAD');
    if (allowed.has(req.method)) return done();
    const allow = ORDER.filter((m) => allowed.has(m)).join(', ');
    void reply
      .code(405)
      .header('allow', allow)
      .header('content-type', 'application/json; charset=utf-8')
      .send({
        statusCode: 405,
        error: 'Method Not Allowed',
        message: `${req.method.slice(0, 20)} is not a method of this path (it has ${allow})`,
        code: CORE_ERRORS.METHOD_NOT_ALLOWED,
      });
  });
}

/**
 * The request's path as the router matches it: percent-escapes decoded segment by segment, except
 * an encoded `/` (`%2F` names no segment boundary); an escape that is not UTF-8 stays as sent. Raw,
 * `POST /api/%64ocs-json` was 404 where `POST /api/docs-json` is 405, and
 * `GET /api/practices/national%2Drollout` reached the practice handler (an attack on the day's change).
 */
function decodedPath(url: string): string {
  const path = url.split('?')[0];
  // Every API request passes here: most have nothing to decode.
  if (!path.includes('%')) return path;
  return path
    .split('/')
    .map((segment) => {
      try {
        return decodeURIComponent(segment.replace(/%2F/gi, '%252F'));
      } catch {
        return segment;
      }
    })
    .join('/');
}
