import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash, type Hash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  CallHandler,
  ExecutionContext,
  Injectable,
  Logger,
  NestInterceptor,
  OnApplicationShutdown,
} from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';
import { InjectDataSource } from '@nestjs/typeorm';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { from, lastValueFrom, Observable } from 'rxjs';
import { DataSource } from 'typeorm';
import {
  ConflictError,
  DomainError,
  isNotTheRequestsChange,
  Principal,
  ValidationError,
} from '@custodian/core';

/** The request header (IETF draft-ietf-httpapi-idempotency-key-header). */
export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
/** Set on an answer replayed from the first request with the same key. */
export const IDEMPOTENT_REPLAYED_HEADER = 'Idempotent-Replayed';
/** A key: 1–200 visible ASCII characters (a UUID is the usual choice). */
const KEY_PATTERN = /^[\x21-\x7e]{1,200}$/;
const TTL = `interval '24 hours'`;
/** An in-flight claim lasts this long unless renewed (every RENEW_MS while the request runs). */
const LEASE_SECONDS = 60;
const RENEW_MS = 20_000;
const CLEANUP_MS = 3_600_000;

/** Same key, different request (method, path or body): 422, whatever became of the first. */
export class IdempotencyKeyReusedError extends DomainError {
  constructor() {
    super(
      'IDEMPOTENCY_KEY_REUSED',
      'This Idempotency-Key was used with a different request; use a new key for a new request',
      422,
    );
  }
}

interface KeyRow {
  method: string;
  path: string;
  request_hash: string | null;
  status: number | null;
  body: unknown;
  committed: boolean;
  lease_live: boolean;
}

/** The request whose transactions mark its key as committed (see the subscriber below). */
const current = new AsyncLocalStorage<{ userId: string; key: string }>();

/** Keys are canonical JSON: the same object in another key order is the same request. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value ?? null);
}

/**
 * `Idempotency-Key` on every authenticated POST under /api (issue 29): the first answer of a request
 * is kept 24 hours with its user, method, path and a hash of its body; the same key from the same
 * user with the same request returns that answer (with `Idempotent-Replayed: true`) and creates
 * nothing; the same key with another request is 422 `IDEMPOTENCY_KEY_REUSED`; while the first is
 * still running, 409 `IDEMPOTENCY_KEY_IN_FLIGHT`. Keys are per user: one user's key never reaches
 * another's answer. Only what the first answer contained is stored (the sign-in routes, whose
 * answers carry tokens, are outside it).
 *
 * Every transaction the request commits marks the key as committed, in that transaction. A request
 * that failed having committed nothing frees its key (the client may try again with it); one whose
 * change committed but whose answer was lost (the database dropped at the commit) keeps it: a
 * retry gets 409 `IDEMPOTENCY_KEY_UNCONFIRMED`, never a second object.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor, OnApplicationShutdown {
  private readonly logger = new Logger('Idempotency');
  private readonly cleanup: NodeJS.Timeout;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly reflector: Reflector,
  ) {
    db.subscribers.push({
      beforeTransactionCommit: async (event) => {
        const c = current.getStore();
        if (!c || !event.queryRunner || isNotTheRequestsChange(event.queryRunner)) return;
        await event.queryRunner.query(
          `UPDATE idempotency_keys SET committed_at = COALESCE(committed_at, now()) WHERE user_id = $1 AND key = $2`,
          [c.userId, c.key],
        );
      },
    });
    this.cleanup = setInterval(() => void this.deleteExpired(), CLEANUP_MS).unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.cleanup);
  }

  async deleteExpired(): Promise<number> {
    try {
      const [, n] = await this.db.query(`DELETE FROM idempotency_keys WHERE created_at < now() - ${TTL}`);
      return Number(n) || 0;
    } catch (err) {
      this.logger.warn({ err: { message: (err as Error).message } }, 'expired idempotency keys not deleted');
      return 0;
    }
  }

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (ctx.getType() !== 'http') return next.handle();
    const req = ctx.switchToHttp().getRequest<FastifyRequest & { user?: Principal }>();
    const header = req.headers[IDEMPOTENCY_HEADER.toLowerCase()];
    const path = req.url.split('?')[0];
    if (
      header === undefined ||
      req.method !== 'POST' ||
      !path.startsWith('/api/') ||
      path.startsWith('/api/auth/') ||
      !req.user
    )
      return next.handle();
    const key = Array.isArray(header) ? undefined : header;
    if (!key || !KEY_PATTERN.test(key))
      throw new ValidationError(
        'IDEMPOTENCY_KEY_INVALID',
        'Idempotency-Key must be 1 to 200 visible ASCII characters',
      );
    const reply = ctx.switchToHttp().getResponse<FastifyReply>();
    const status = this.reflector.get<number | undefined>(HTTP_CODE_METADATA, ctx.getHandler()) ?? 201;
    return from(this.run(req, reply, req.user.id, key, req.url.slice(0, 500), status, next));
  }

  private async run(
    req: FastifyRequest,
    reply: FastifyReply,
    userId: string,
    key: string,
    path: string,
    status: number,
    next: CallHandler,
  ): Promise<unknown> {
    const prefix = `${req.method} ${path}\n`;
    // A streamed body (extracts, CSV loads) is hashed as the handler reads it; a JSON body now.
    let streamed: { hash: Hash; done: Promise<string> } | undefined;
    let requestHash: string | null = null;
    if (req.body instanceof Readable) {
      const hash = createHash('sha256').update(prefix);
      const source = req.body;
      let resolveDone!: (h: string) => void;
      const done = new Promise<string>((r) => (resolveDone = r));
      const hashing = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          hash.update(chunk);
          cb(null, chunk);
        },
        flush(cb) {
          resolveDone(hash.digest('hex'));
          cb();
        },
      });
      pipeline(source, hashing).catch(() => undefined);
      (req as { body: unknown }).body = hashing;
      streamed = { hash, done };
    } else {
      requestHash = createHash('sha256')
        .update(prefix + canonical(req.body ?? null))
        .digest('hex');
    }

    const claimed = await this.claim(userId, key, req.method, path, requestHash);
    if (!claimed.ok) {
      const row = claimed.row;
      if (row.method !== req.method || row.path !== path) throw new IdempotencyKeyReusedError();
      if (row.status === null) {
        if (row.lease_live)
          throw new ConflictError(
            'IDEMPOTENCY_KEY_IN_FLIGHT',
            'A request with this Idempotency-Key is still being processed; try again shortly',
          );
        throw new ConflictError(
          'IDEMPOTENCY_KEY_UNCONFIRMED',
          'The request first sent with this Idempotency-Key was stored but its answer was lost; look the result up instead of sending it again',
        );
      }
      // A streamed body is read whole to compare it with the first.
      if (streamed) {
        (req.body as Readable).resume();
        requestHash = await streamed.done;
      }
      if (row.request_hash !== requestHash) throw new IdempotencyKeyReusedError();
      reply.header(IDEMPOTENT_REPLAYED_HEADER, 'true');
      return row.body ?? undefined;
    }

    const renew = setInterval(() => {
      this.db
        .query(
          `UPDATE idempotency_keys SET lease_until = now() + make_interval(secs => $3)
            WHERE user_id = $1 AND key = $2 AND status IS NULL`,
          [userId, key, LEASE_SECONDS],
        )
        .catch(() => undefined);
    }, RENEW_MS).unref();
    let result: unknown;
    try {
      result = await current.run({ userId, key }, () =>
        lastValueFrom(next.handle(), { defaultValue: undefined }),
      );
    } catch (err) {
      clearInterval(renew);
      // Nothing committed: the key is free again. Committed (or unknown): kept, so a retry
      // cannot create a second object.
      await this.db
        .query(
          `DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND status IS NULL AND committed_at IS NULL`,
          [userId, key],
        )
        .catch(() => undefined);
      throw err;
    }
    clearInterval(renew);
    if (streamed) requestHash = await Promise.race([streamed.done, Promise.resolve(null)]);
    await this.db
      .query(
        `UPDATE idempotency_keys SET status = $3, body = $4::jsonb, request_hash = COALESCE($5, request_hash),
                completed_at = now(), committed_at = COALESCE(committed_at, now())
          WHERE user_id = $1 AND key = $2`,
        [userId, key, status, result === undefined ? null : JSON.stringify(result), requestHash],
      )
      .catch((err: Error) =>
        this.logger.warn({ err: { message: err.message } }, 'idempotent answer not stored'),
      );
    return result;
  }

  /** Takes the key for this request, or returns what holds it. Expired keys are forgotten first. */
  private async claim(
    userId: string,
    key: string,
    method: string,
    path: string,
    requestHash: string | null,
  ): Promise<{ ok: true } | { ok: false; row: KeyRow }> {
    return this.db.transaction(async (tx) => {
      await tx.query(
        `DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND created_at < now() - ${TTL}`,
        [userId, key],
      );
      const inserted: unknown[] = await tx.query(
        `INSERT INTO idempotency_keys (user_id, key, method, path, request_hash, lease_until)
         VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))
         ON CONFLICT (user_id, key) DO NOTHING RETURNING 1`,
        [userId, key, method, path, requestHash, LEASE_SECONDS],
      );
      if (inserted.length) return { ok: true as const };
      const [row]: KeyRow[] = await tx.query(
        `SELECT method, path, request_hash, status, body, committed_at IS NOT NULL AS committed,
                lease_until > now() AS lease_live
           FROM idempotency_keys WHERE user_id = $1 AND key = $2 FOR UPDATE`,
        [userId, key],
      );
      // A claim whose request died (its lease passed) having committed nothing is taken over.
      if (row.status === null && !row.committed && !row.lease_live) {
        if (row.method !== method || row.path !== path) return { ok: false as const, row };
        await tx.query(
          `UPDATE idempotency_keys SET request_hash = $3, lease_until = now() + make_interval(secs => $4)
            WHERE user_id = $1 AND key = $2`,
          [userId, key, requestHash, LEASE_SECONDS],
        );
        return { ok: true as const };
      }
      // Completed (replayed), in flight with a live lease (409), or committed with its answer lost.
      return { ok: false as const, row };
    });
  }
}
