import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { ValidationError } from '@custodian/core';

interface Request {
  query?: unknown;
  routeOptions?: { url?: string };
}

/**
 * The query parameters a handler reads: `'dto'` when it takes the whole query as an object (the
 * global ValidationPipe then refuses what the object does not declare), else the names of its
 * `@Query('name')` parameters (none: it reads no query at all).
 */
function declaredQuery(controller: object, handler: (...args: unknown[]) => unknown): 'dto' | Set<string> {
  const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, handler.name) ?? {}) as Record<
    string,
    { data?: unknown }
  >;
  const names = new Set<string>();
  for (const [key, arg] of Object.entries(args)) {
    if (key.split(':')[0] !== String(RouteParamtypes.QUERY)) continue;
    if (typeof arg.data !== 'string') return 'dto';
    names.add(arg.data);
  }
  return names;
}

/**
 * SPEC §7: unknown properties are refused with 400 — in a query string too, on a route that takes
 * no query object, where the global ValidationPipe has nothing to validate. A paged list refused
 * `?foo=1` while `GET /api/bids/:id?page=50` or `GET /api/datasets?format=csv` answered as if it
 * had not been sent (an outsider's probe, 2026-12-07): a client could not tell its parameter was
 * ignored. Such a parameter is now 400 VALIDATION_FAILED naming it, as the pipe words it. After the
 * guards that authenticate and authorise (an anonymous caller learns nothing of a route's rules);
 * API routes only (the portal's pages read their own).
 */
@Injectable()
export class KnownQueryGuard implements CanActivate {
  private readonly declared = new WeakMap<object, 'dto' | Set<string>>();

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const req = context.switchToHttp().getRequest<Request>();
    const route = req.routeOptions?.url ?? '';
    // The health route takes what monitors add (a cache-buster): a 400 there read as the service down.
    if (!route.startsWith('/api/') || route === '/api/health') return true;
    const query = req.query;
    if (query === null || typeof query !== 'object') return true;
    const keys = Object.keys(query);
    if (!keys.length) return true;
    const handler = context.getHandler() as (...args: unknown[]) => unknown;
    let known = this.declared.get(handler);
    if (known === undefined) {
      known = declaredQuery(context.getClass(), handler);
      this.declared.set(handler, known);
    }
    if (known === 'dto') return true;
    const unknown = keys.filter((k) => !(known as Set<string>).has(k));
    if (!unknown.length) return true;
    throw new ValidationError(
      'VALIDATION_FAILED',
      unknown.map((k) => `property ${k.slice(0, 64)} should not exist`).join('; '),
    );
  }
}
