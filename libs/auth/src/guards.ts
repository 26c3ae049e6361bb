import { ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { AuditService } from '@custodian/audit';
import {
  builtInKeys,
  APP_CONFIG,
  AppConfig,
  DomainError,
  IS_PUBLIC,
  requestMeta,
  TooManyRequestsError,
  UnauthorizedError,
  ValidationError,
} from '@custodian/core';
import { AuthService } from './auth.service';
import { LoginDto } from './dto';
import { AUTH_ERRORS } from './auth.errors';

/**
 * Global: every route needs a valid access token unless it is @Public(). Rejections are audited,
 * repeats counted rather than chained one by one; past `AUTH_FAILURES_PER_MINUTE` bad tokens from
 * one address, the rest of that minute's bad tokens from it are 429 (a good token still works, so
 * a flood from a shared address does not shut out its other users).
 */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  constructor(
    private readonly reflector: Reflector,
    private readonly audit: AuditService,
    private readonly auth: AuthService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
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
      if (!hadToken) throw new UnauthorizedError(AUTH_ERRORS.UNAUTHENTICATED, 'Authentication required');
      const code = err instanceof DomainError ? err.code : AUTH_ERRORS.INVALID_TOKEN;
      const meta = requestMeta(req);
      const { failures, retryAfterSeconds } = await this.auth.countTokenFailure(meta.ip);
      const throttled = failures > this.config.authFailuresPerMinute;
      await this.audit.recordDenial({
        action: throttled ? 'auth.throttled' : 'auth.token_rejected',
        outcome: 'denied',
        meta,
        details: { code, route: req.routeOptions?.url, method: req.method },
      });
      if (throttled)
        throw new TooManyRequestsError(
          AUTH_ERRORS.AUTH_FAILURES_THROTTLED,
          'Too many requests with an invalid access token from this address; try again later',
          retryAfterSeconds,
        );
      throw err instanceof DomainError ? err : new UnauthorizedError(code, 'The access token is not valid');
    }
  }

  override handleRequest<T>(err: unknown, user: T): T {
    if (err) throw err;
    if (!user) throw new UnauthorizedError(AUTH_ERRORS.INVALID_TOKEN, 'The access token is not valid');
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
    // Names like `toString` never reach the DTO instance, so the whitelist cannot see them (probe 32).
    const builtIns = builtInKeys(req.body);
    if (!req.body || typeof req.body !== 'object' || errors.length || builtIns.length) {
      throw new ValidationError(
        AUTH_ERRORS.VALIDATION_FAILED,
        [...builtIns, ...errors.flatMap((e) => Object.values(e.constraints ?? {}))].join('; ') ||
          'email and password are required',
      );
    }
    return (await super.canActivate(ctx)) as boolean;
  }

  override handleRequest<T>(err: unknown, user: T): T {
    if (err) throw err;
    if (!user) throw new UnauthorizedError(AUTH_ERRORS.INVALID_CREDENTIALS, 'Email or password is incorrect');
    return user;
  }
}
