import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuditService } from '@custodian/audit';
import { ForbiddenError, IS_PUBLIC, Permission, PERMISSION, Principal, requestMeta } from '@custodian/core';
import { defineAbilityFor } from './ability';
import { AUTHZ_ERRORS } from './authz.errors';

/** Global: a route is open only to callers whose abilities allow its declared permission. */
@Injectable()
export class PoliciesGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly audit: AuditService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const req = ctx.switchToHttp().getRequest<{
      user?: Principal;
      id?: string;
      ip?: string;
      routeOptions?: { url?: string };
      method?: string;
    }>();
    const permission = this.reflector.getAllAndOverride<Permission | undefined>(PERMISSION, targets);
    const user = req.user;
    if (user && permission && defineAbilityFor(user).can(permission.action, permission.subject)) return true;
    // Counted per actor and minute when repeated (see recordDenial), so a loop cannot flood the chain.
    await this.audit.recordDenial({
      action: 'authz.denied',
      outcome: 'denied',
      actor: user ?? null,
      meta: requestMeta(req),
      details: {
        method: req.method,
        route: req.routeOptions?.url,
        permission: permission ? `${permission.action}:${permission.subject}` : 'undeclared',
      },
    });
    throw new ForbiddenError(
      permission ? AUTHZ_ERRORS.FORBIDDEN : AUTHZ_ERRORS.ROUTE_NOT_DECLARED,
      permission ? 'Your roles do not allow this' : 'This route is closed',
    );
  }
}
