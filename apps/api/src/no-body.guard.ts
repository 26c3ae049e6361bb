import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { DECORATORS } from '@nestjs/swagger';
import { ValidationError } from '@custodian/core';

interface Request {
  body?: unknown;
  routeOptions?: { url?: string };
}

/** Whether the handler declares a body: a `@Body()` parameter, or one its guard reads (`@ApiBody`, the login). */
function declaresBody(controller: object, handler: (...args: unknown[]) => unknown): boolean {
  const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, handler.name) ?? {}) as object;
  if (Object.keys(args).some((k) => k.split(':')[0] === String(RouteParamtypes.BODY))) return true;
  const documented = (Reflect.getMetadata(DECORATORS.API_PARAMETERS, handler) ?? []) as { in?: string }[];
  return documented.some((p) => p.in === 'body');
}

/**
 * SPEC §7: unknown properties are refused with 400 — on a route that takes no body too, where the
 * global ValidationPipe never runs (no `@Body()` to validate). `POST /api/practices/national-rollout
 * {"only":["A81002"]}` moved every practice, the filter silently ignored (an outsider's probe,
 * 2026-12-07); logout, submit and the agreement's acceptance took any body alike. Such a route now
 * answers 400 VALIDATION_FAILED naming each property sent, as the pipe would (`property only should
 * not exist`); no body, an empty one and `{}` are as before. A global guard after the two that
 * authenticate and authorise, so an anonymous or unauthorised caller learns nothing of the route's
 * body rules (SECURITY.md #125). API routes only: the portal's forms carry their CSRF token in the body.
 * An upload's body is a stream, not an object, and is its handler's.
 */
@Injectable()
export class NoBodyGuard implements CanActivate {
  private readonly takesBody = new WeakMap<object, boolean>();

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const req = context.switchToHttp().getRequest<Request>();
    if (!(req.routeOptions?.url ?? '').startsWith('/api/')) return true;
    const body = req.body;
    if (body === null || typeof body !== 'object' || Object.getPrototypeOf(body) !== Object.prototype)
      return true;
    const keys = Object.keys(body);
    if (!keys.length) return true;
    const handler = context.getHandler() as (...args: unknown[]) => unknown;
    let takes = this.takesBody.get(handler);
    if (takes === undefined) {
      takes = declaresBody(context.getClass(), handler);
      this.takesBody.set(handler, takes);
    }
    if (takes) return true;
    throw new ValidationError(
      'VALIDATION_FAILED',
      keys.map((k) => `property ${k} should not exist`).join('; '),
    );
  }
}
