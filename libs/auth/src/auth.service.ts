import { USERS_SOURCE } from '@custodian/identity';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '@custodian/audit';
import {
  APP_CONFIG,
  AppConfig,
  Principal,
  RequestMeta,
  TooManyRequestsError,
  UnauthorizedError,
} from '@custodian/core';
import { LOGIN_LIMITS, loginWait } from './login-throttle';
import { PasswordService } from '@custodian/identity';
import { PrincipalCache } from './principal-cache';
import { AUTH_ERRORS } from './auth.errors';
import { accessTokenTimesProblem, bearerToken } from './access-token';

export const JWT_ISSUER = 'custodian';
export const JWT_AUDIENCE = 'custodian-api';
export const JWT_ALGORITHM = 'HS256';

/** Advisory-lock namespaces (the two-key form) for sign-in reservations. */
const LOGIN_LOCK_ACCOUNT = 7_365_201;
const LOGIN_LOCK_ADDRESS = 7_365_202;

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  tokenType: 'Bearer';
}

export interface AccessClaims {
  sub: string;
  sid: string;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

const PRINCIPAL_SQL = `
  SELECT u.id, u.email, u.roles, u.organisation_id AS "organisationId", u.practice_ods AS "practiceOds", s.id AS "sessionId",
         s.expires_at AS "expiresAt"
    FROM auth_sessions s JOIN ${USERS_SOURCE} u ON u.id = s.user_id
   WHERE s.id = $1 AND u.id = $2 AND s.revoked_at IS NULL AND s.expires_at > now() AND NOT u.disabled`;

@Injectable()
export class AuthService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly jwt: JwtService,
    private readonly passwords: PasswordService,
    private readonly audit: AuditService,
    private readonly principals: PrincipalCache,
  ) {}

  /**
   * Reserves the attempt, then checks the password; every attempt is counted and audited.
   *
   * The reservation is atomic: under advisory locks on the account and on the address, one short
   * transaction counts the failures and, when the attempt is allowed, records it as a failure
   * before the password is checked (argon2 takes tens of milliseconds). Counting, checking and then
   * recording let 150 parallel guesses from one address all through before the first was counted.
   * A correct password turns the reserved row into a success.
   */
  async validateCredentials(
    emailRaw: string,
    password: string,
    meta: RequestMeta,
  ): Promise<Principal & { sessionId: '' }> {
    const email = emailRaw.trim().toLowerCase();
    const reserved = await this.db.transaction(async (tx) => {
      // Account first, then address, always in this order (no deadlock); held until commit.
      await tx.query(`SELECT pg_advisory_xact_lock($1, hashtext($2))`, [LOGIN_LOCK_ACCOUNT, email]);
      await tx.query(`SELECT pg_advisory_xact_lock($1, hashtext($2))`, [LOGIN_LOCK_ADDRESS, meta.ip]);
      const [counts] = await tx.query(
        `SELECT count(*) FILTER (WHERE email = $1)::int AS account,
                count(*) FILTER (WHERE ip = $2)::int AS address,
                count(*) FILTER (WHERE email = $1 AND ip = $2)::int AS pair,
                extract(epoch FROM clock_timestamp() - max(at) FILTER (WHERE email = $1 AND ip = $2))::float8 AS "sinceLastPair"
           FROM login_attempts
          WHERE NOT succeeded AND at > clock_timestamp() - make_interval(mins => $3) AND (email = $1 OR ip = $2)`,
        [email, meta.ip, LOGIN_LIMITS.windowMinutes],
      );
      const wait = loginWait(counts);
      if (wait > 0) return { wait };
      const [attempt] = await tx.query(
        `INSERT INTO login_attempts (at, email, ip, succeeded) VALUES (clock_timestamp(), $1, $2, false) RETURNING id`,
        [email, meta.ip],
      );
      return { attemptId: attempt.id as string };
    });
    if (reserved.wait) {
      await this.audit.recordDenial({
        action: 'auth.login',
        outcome: 'denied',
        meta,
        details: { email, reason: 'throttled' },
      });
      throw new TooManyRequestsError(
        AUTH_ERRORS.LOGIN_THROTTLED,
        'Too many failed sign-in attempts; try again later',
        reserved.wait,
      );
    }
    const [row] = await this.db.query(
      `SELECT id, email, password_hash, roles, organisation_id AS "organisationId", practice_ods AS "practiceOds", disabled
         FROM ${USERS_SOURCE} WHERE email = $1`,
      [email],
    );
    const ok = (await this.passwords.verify(row?.password_hash, password)) && !row.disabled;
    await this.db.transaction(async (tx) => {
      if (ok)
        await tx.query('UPDATE login_attempts SET succeeded = true WHERE id = $1', [reserved.attemptId]);
      await this.audit.record(
        {
          action: 'auth.login',
          outcome: ok ? 'success' : 'failure',
          actor: ok ? row : null,
          meta,
          details: ok ? {} : { email, reason: row?.disabled ? 'disabled' : 'bad_credentials' },
        },
        tx,
      );
    });
    if (!ok) throw new UnauthorizedError(AUTH_ERRORS.INVALID_CREDENTIALS, 'Email or password is incorrect');
    return {
      id: row.id,
      email: row.email,
      roles: row.roles,
      organisationId: row.organisationId,
      practiceOds: row.practiceOds,
      sessionId: '',
    };
  }

  /**
   * Counts one request with a bad access token from this address in the current minute (shared by
   * every API process) and says how many there have been and when the minute ends.
   */
  async countTokenFailure(ip: string): Promise<{ failures: number; retryAfterSeconds: number }> {
    const [row] = await this.db.query(
      `INSERT INTO auth_failures (ip, window_start, failures) VALUES ($1, date_trunc('minute', clock_timestamp()), 1)
       ON CONFLICT (ip, window_start) DO UPDATE SET failures = auth_failures.failures + 1
       RETURNING failures,
                 greatest(1, ceil(extract(epoch FROM window_start + interval '1 minute' - clock_timestamp())))::int AS "retryAfterSeconds"`,
      [ip.slice(0, 64)],
    );
    // Old minutes are of no further use; dropping them now and then keeps the table a few rows long.
    if (row.failures === 1)
      await this.db.query(`DELETE FROM auth_failures WHERE window_start < now() - interval '5 minutes'`);
    return row;
  }

  /** Opens a session (a refresh-token family) and returns its first tokens. */
  async startSession(userId: string): Promise<TokenPair> {
    return this.db.transaction(async (tx) => {
      const [session] = await tx.query(
        `INSERT INTO auth_sessions (user_id, expires_at) VALUES ($1, now() + make_interval(secs => $2)) RETURNING id`,
        [userId, this.config.refreshTokenTtlSeconds],
      );
      return this.issue(tx, userId, session.id);
    });
  }

  /**
   * Rotates a refresh token. Presenting one that was already used means it was copied: the whole
   * family is revoked (committed before the 401), and the legitimate holder must sign in again.
   */
  async refresh(presented: string, meta: RequestMeta): Promise<TokenPair> {
    const [tokenId, secret] = String(presented).split('.');
    const invalid = async (reason: string, extra: Partial<{ userId: string; sessionId: string }> = {}) => {
      // Counted when repeated: garbage refresh tokens in a loop must not flood the chain.
      await this.audit.recordDenial({
        action: 'auth.refresh',
        outcome: 'failure',
        actor: extra.userId ? { id: extra.userId, roles: [] } : null,
        subjectType: 'session',
        subjectId: extra.sessionId,
        meta,
        details: { reason },
      });
      return new UnauthorizedError(
        reason === 'reused' ? AUTH_ERRORS.REFRESH_TOKEN_REUSED : AUTH_ERRORS.INVALID_REFRESH_TOKEN,
        'The refresh token is not valid',
      );
    };
    if (!/^[0-9a-f-]{36}$/.test(tokenId ?? '') || !secret) throw await invalid('malformed');
    const outcome = await this.db.transaction(async (tx) => {
      const [row] = await tx.query(
        `SELECT t.id, t.token_hash, t.used_at, s.id AS session_id, s.user_id, s.revoked_at, s.expires_at < now() AS expired, u.disabled
           FROM refresh_tokens t JOIN auth_sessions s ON s.id = t.session_id JOIN ${USERS_SOURCE} u ON u.id = s.user_id
          WHERE t.id = $1 FOR UPDATE OF t, s`,
        [tokenId],
      );
      if (!row) return { error: 'unknown' } as const;
      const hash: Buffer = row.token_hash;
      const given = sha256(secret);
      if (hash.length !== given.length || !timingSafeEqual(hash, given)) return { error: 'unknown' } as const;
      const ids = { userId: row.user_id as string, sessionId: row.session_id as string };
      if (row.revoked_at) return { error: 'revoked', ...ids } as const;
      if (row.used_at) {
        await this.revokeSession(tx, row.session_id, 'refresh_reuse');
        await this.audit.record(
          {
            action: 'auth.refresh_reuse',
            outcome: 'denied',
            actor: { id: row.user_id, roles: [] },
            subjectType: 'session',
            subjectId: row.session_id,
            meta,
            details: { family: 'revoked' },
          },
          tx,
        );
        return { error: 'reused', ...ids } as const;
      }
      if (row.expired || row.disabled)
        return { error: row.disabled ? 'disabled' : 'expired', ...ids } as const;
      await tx.query('UPDATE refresh_tokens SET used_at = now() WHERE id = $1', [row.id]);
      return { tokens: await this.issue(tx, row.user_id, row.session_id) } as const;
    });
    if (outcome.tokens) return outcome.tokens;
    if ('userId' in outcome && outcome.userId) this.forgetUser(outcome.userId);
    if (outcome.error === 'reused')
      throw new UnauthorizedError(
        AUTH_ERRORS.REFRESH_TOKEN_REUSED,
        'The refresh token was already used; the session has been ended',
      );
    throw await invalid(
      outcome.error ?? 'unknown',
      'userId' in outcome ? { userId: outcome.userId, sessionId: outcome.sessionId } : {},
    );
  }

  async logout(user: Principal, meta: RequestMeta): Promise<void> {
    await this.db.transaction(async (tx) => {
      await this.revokeSession(tx, user.sessionId, 'logout');
      await this.audit.record(
        { action: 'auth.logout', actor: user, subjectType: 'session', subjectId: user.sessionId, meta },
        tx,
      );
    });
    this.forgetUser(user.id);
  }

  /**
   * The caller of a bearer access token outside the guarded routes (the API docs' gate): verified
   * as the JWT strategy does (exactly `Bearer <token>`, HS256, issuer, audience, `exp` in the future,
   * `iat` and the lifetime within bounds), then the live session. Undefined for anything else.
   */
  async principalFromBearer(header: string | undefined): Promise<Principal | undefined> {
    const token = bearerToken(header);
    if (!token) return undefined;
    try {
      const claims = await this.jwt.verifyAsync<AccessClaims & { exp?: unknown; iat?: unknown }>(token);
      if (accessTokenTimesProblem(claims, this.config.accessTokenTtlSeconds)) return undefined;
      return await this.principalFor(claims);
    } catch {
      return undefined;
    }
  }

  /** Loads the caller for an access token; undefined when the session or user is no longer valid. */
  async principalFor(claims: AccessClaims): Promise<Principal | undefined> {
    if (
      typeof claims.sid !== 'string' ||
      typeof claims.sub !== 'string' ||
      !/^[0-9a-f-]{36}$/.test(claims.sid) ||
      !/^[0-9a-f-]{36}$/.test(claims.sub)
    )
      return undefined;
    const cached = this.principals.get(claims.sid, claims.sub);
    if (cached) return cached;
    const begun = this.principals.begin();
    const [row] = await this.db.query(PRINCIPAL_SQL, [claims.sid, claims.sub]);
    if (!row) return undefined;
    const { expiresAt, ...principal } = row as Principal & { expiresAt: Date };
    this.principals.set(principal, begun, expiresAt);
    return principal;
  }

  /**
   * Call once a transaction that changed a user or their sessions has committed: this process
   * stops reusing their session checks at once (other processes hear it from PostgreSQL).
   */
  forgetUser(userId: string): void {
    this.principals.forgetUser(userId);
  }

  /** Ends every session of a user at once (disable, role change); call `forgetUser` after the commit. */
  async revokeUserSessions(tx: EntityManager, userId: string, reason: string): Promise<number> {
    const res = await tx.query(
      `UPDATE auth_sessions SET revoked_at = now(), revoked_reason = $2 WHERE user_id = $1 AND revoked_at IS NULL`,
      [userId, reason],
    );
    return Array.isArray(res) ? Number(res[1] ?? 0) : 0;
  }

  private async revokeSession(tx: EntityManager, sessionId: string, reason: string): Promise<void> {
    await tx.query(
      `UPDATE auth_sessions SET revoked_at = now(), revoked_reason = $2 WHERE id = $1 AND revoked_at IS NULL`,
      [sessionId, reason],
    );
  }

  private async issue(tx: EntityManager, userId: string, sessionId: string): Promise<TokenPair> {
    const secret = randomBytes(32).toString('base64url');
    const [token] = await tx.query(
      `INSERT INTO refresh_tokens (session_id, token_hash) VALUES ($1, $2) RETURNING id`,
      [sessionId, sha256(secret)],
    );
    const claims: AccessClaims = { sub: userId, sid: sessionId };
    const accessToken = await this.jwt.signAsync(claims);
    return {
      accessToken,
      refreshToken: `${token.id}.${secret}`,
      expiresIn: this.config.accessTokenTtlSeconds,
      tokenType: 'Bearer',
    };
  }
}
