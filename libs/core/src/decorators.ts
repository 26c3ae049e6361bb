import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { clientRequestId, internalClientIp } from './logger';

export const IS_PUBLIC = 'custodian:public';
/** Nest's key for a route's Fastify config (`@nestjs/platform-fastify` `RouteConfig`). */
const FASTIFY_ROUTE_CONFIG = '__fastify_route_config__';

/**
 * Adds to a route's Fastify config (what `req.routeOptions.config` holds), keeping what other
 * decorators put there (Nest's `RouteConfig` replaces it whole).
 */
export function RouteFlags(flags: Record<string, unknown>): MethodDecorator {
  return (_target, _key, descriptor) => {
    const handler = descriptor.value as object;
    const before = (Reflect.getMetadata(FASTIFY_ROUTE_CONFIG, handler) as object | undefined) ?? {};
    Reflect.defineMetadata(FASTIFY_ROUTE_CONFIG, { ...before, ...flags }, handler);
    return descriptor;
  };
}

/** What a public API route says in its Fastify config, for the body policy (before any guard). */
export interface PublicRouteConfig {
  publicRoute?: boolean;
}

/**
 * The only way out of the global authentication and authorisation guards. On a route it is also a
 * flag the body policy reads: a request without credentials to any other API route is answered 401
 * before its body is looked at (SPEC §7: unauthenticated → 401, not 400 or 415).
 */
export const Public =
  () =>
  (target: object, key?: string | symbol, descriptor?: PropertyDescriptor): void => {
    SetMetadata(IS_PUBLIC, true)(target, key!, descriptor!);
    if (descriptor && key !== undefined)
      RouteFlags({ publicRoute: true } satisfies PublicRouteConfig)(target, key, descriptor);
  };

export type Role =
  'admin' | 'data_manager' | 'practice' | 'researcher' | 'panel_member' | 'release_officer' | 'auditor';

export const ROLES: readonly Role[] = [
  'admin',
  'data_manager',
  'practice',
  'researcher',
  'panel_member',
  'release_officer',
  'auditor',
];

/** The authenticated caller, as the JWT strategy loads it fresh from the database on every request. */
export interface Principal {
  id: string;
  email: string;
  roles: Role[];
  organisationId: string | null;
  practiceOds: string | null;
  sessionId: string;
}

export interface RequestMeta {
  requestId: string;
  /** The client's address (the browser's, for the portal's calls into the API). */
  ip: string;
  /** The client's own X-Request-Id, if it sent one: a label, never trusted as the request id. */
  clientRequestId?: string;
}

interface RequestLike {
  user?: Principal;
  id?: string;
  ip?: string;
  raw?: IncomingMessage;
}

export const CurrentUser = createParamDecorator((_data: unknown, ctx: ExecutionContext): Principal => {
  const req = ctx.switchToHttp().getRequest<RequestLike>();
  return req.user as Principal;
});

export const ReqMeta = createParamDecorator((_data: unknown, ctx: ExecutionContext): RequestMeta =>
  requestMeta(ctx.switchToHttp().getRequest<RequestLike>()),
);

export function requestMeta(req: RequestLike): RequestMeta {
  const raw = req.raw;
  const meta: RequestMeta = {
    requestId: String(req.id ?? ''),
    ip: (raw && internalClientIp(raw)) ?? req.ip ?? '',
  };
  const client = raw && clientRequestId(raw);
  if (client) meta.clientRequestId = client;
  return meta;
}
