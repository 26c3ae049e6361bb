import { createSecretKey } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy as JwtStrategyBase } from 'passport-jwt';
import { Strategy as LocalStrategyBase } from 'passport-local';
import { APP_CONFIG, AppConfig, Principal, requestMeta, UnauthorizedError } from '@custodian/core';
import { AccessClaims, AuthService, JWT_ALGORITHM, JWT_AUDIENCE, JWT_ISSUER } from './auth.service';
import { AUTH_ERRORS } from './auth.errors';

@Injectable()
export class LocalStrategy extends PassportStrategy(LocalStrategyBase, 'local') {
  constructor(private readonly auth: AuthService) {
    super({ usernameField: 'email', passwordField: 'password', passReqToCallback: true });
  }

  validate(req: { id?: string; ip?: string }, email: string, password: string): Promise<Principal> {
    return this.auth.validateCredentials(email, password, requestMeta(req));
  }
}

const bearer = ExtractJwt.fromAuthHeaderAsBearerToken();

/**
 * Bearer tokens signed with HS256 only; issuer and audience must match; the session must still be
 * live (checked by `validate` on every request, through the session-check cache).
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(JwtStrategyBase, 'jwt') {
  constructor(
    private readonly auth: AuthService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    super({
      jwtFromRequest: bearer,
      // A KeyObject made once: given a string, jsonwebtoken first tries (and fails) to parse it as
      // a public key and then builds a secret key, on every request.
      secretOrKey: createSecretKey(Buffer.from(config.jwtSecret)) as unknown as string,
      algorithms: [JWT_ALGORITHM],
      issuer: JWT_ISSUER,
      audience: JWT_AUDIENCE,
      ignoreExpiration: false,
    });
  }

  /** Called by passport-jwt after it verified the token. */
  async validate(claims: AccessClaims & { exp: number }): Promise<Principal> {
    // jsonwebtoken checks `exp` only when present: a token without one (signed by a tool or a
    // leaked key holder) would never expire. Every token we issue has one; refuse any that does not.
    if (typeof claims.exp !== 'number' || !Number.isFinite(claims.exp))
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
