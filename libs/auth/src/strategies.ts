import { createSecretKey } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy as JwtStrategyBase } from 'passport-jwt';
import { Strategy as LocalStrategyBase } from 'passport-local';
import { APP_CONFIG, AppConfig, Principal, requestMeta, UnauthorizedError } from '@custodian/core';
import { AccessClaims, AuthService, JWT_ALGORITHM, JWT_AUDIENCE, JWT_ISSUER } from './auth.service';
import { AUTH_ERRORS } from './auth.errors';
import { accessTokenTimesProblem, fromExactBearerHeader } from './access-token';

@Injectable()
export class LocalStrategy extends PassportStrategy(LocalStrategyBase, 'local') {
  constructor(private readonly auth: AuthService) {
    super({ usernameField: 'email', passwordField: 'password', passReqToCallback: true });
  }

  validate(req: { id?: string; ip?: string }, email: string, password: string): Promise<Principal> {
    return this.auth.validateCredentials(email, password, requestMeta(req));
  }
}

/**
 * Bearer tokens signed with HS256 only, taken from an Authorization header of exactly
 * `Bearer <token>` (`fromExactBearerHeader`: passport-jwt's own extractors take `Bearer <token>
 * extra`); issuer and audience must match; `iat` and `exp` must be present, `iat` not in the future
 * and the lifetime no longer than the configured TTL (`accessTokenTimesProblem`); the session must
 * still be live (checked by `validate` on every request, through the session-check cache).
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(JwtStrategyBase, 'jwt') {
  private readonly ttlSeconds: number;

  constructor(
    private readonly auth: AuthService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    super({
      jwtFromRequest: fromExactBearerHeader,
      // A KeyObject made once: given a string, jsonwebtoken first tries (and fails) to parse it as
      // a public key and then builds a secret key, on every request.
      secretOrKey: createSecretKey(Buffer.from(config.jwtSecret)) as unknown as string,
      algorithms: [JWT_ALGORITHM],
      issuer: JWT_ISSUER,
      audience: JWT_AUDIENCE,
      ignoreExpiration: false,
    });
    this.ttlSeconds = config.accessTokenTtlSeconds;
  }

  /** Called by passport-jwt after it verified the token. */
  async validate(claims: AccessClaims & { exp?: unknown; iat?: unknown }): Promise<Principal> {
    // jsonwebtoken checks `exp` only when present, and neither `iat` nor the lifetime: a token
    // signed by a tool or a leaked key holder could live for ever. Every token we issue has
    // exp = iat + TTL; refuse any that does not fit that (the same answer as any bad token).
    if (accessTokenTimesProblem(claims, this.ttlSeconds))
      throw new UnauthorizedError(AUTH_ERRORS.INVALID_TOKEN, 'The access token is not valid');
    return this.principal(claims);
  }

  private async principal(claims: AccessClaims): Promise<Principal> {
    const principal = await this.auth.principalFor(claims);
    if (!principal)
      throw new UnauthorizedError(AUTH_ERRORS.SESSION_ENDED, 'The session has ended; sign in again');
    return principal;
  }
}
