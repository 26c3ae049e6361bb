import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { AuditService } from '@custodian/audit';
import { DomainError, IS_PUBLIC, requestMeta, UnauthorizedError, ValidationError } from '@custodian/core';
import { LoginDto } from './dto';

/** Global: every route needs a valid access token unless it is @Public(). Rejections are audited. */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  constructor(
    private readonly reflector: Reflector,
    private readonly audit: AuditService,
  ) {
    super();
  }

  override async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [ctx.getHandler(), ctx.getClass()])) return true;
    const req = ctx.switchToHttp().getRequest<{
      headers: Record<string, string | undefined>;
      method: string;
      routeOptions?: { url?: string };
      id?: string;
      ip?: string;
    }>();
    try {
      return (await super.canActivate(ctx)) as boolean;
    } catch (err) {
      const hadToken = Boolean(req.headers.authorization);
      if (!hadToken) throw new UnauthorizedError('UNAUTHENTICATED', 'Authentication required');
      const code = err instanceof DomainError ? err.code : 'INVALID_TOKEN';
      await this.audit.record({
        action: 'auth.token_rejected',
        outcome: 'denied',
        meta: requestMeta(req),
        details: { code, route: req.routeOptions?.url, method: req.method },
      });
      throw err instanceof DomainError ? err : new UnauthorizedError(code, 'The access token is not valid');
    }
  }

  override handleRequest<T>(err: unknown, user: T): T {
    if (err) throw err;
    if (!user) throw new UnauthorizedError('INVALID_TOKEN', 'The access token is not valid');
    return user;
  }
}

/** Validates the login body (400 rather than passport's bare 401), then runs passport-local. */
@Injectable()
export class LocalAuthGuard extends AuthGuard('local') {
  override async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<{ body: unknown }>();
    const dto = plainToInstance(LoginDto, req.body ?? {});
    const errors = validateSync(dto, { whitelist: true, forbidNonWhitelisted: true });
    if (!req.body || typeof req.body !== 'object' || errors.length) {
      throw new ValidationError(
        errors.flatMap((e) => Object.values(e.constraints ?? {})).join('; ') ||
          'email and password are required',
      );
    }
    return (await super.canActivate(ctx)) as boolean;
  }

  override handleRequest<T>(err: unknown, user: T): T {
    if (err) throw err;
    if (!user) throw new UnauthorizedError('INVALID_CREDENTIALS', 'Email or password is incorrect');
    return user;
  }
}
