import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import { DomainError, TooManyRequestsError } from './errors';
import { transientSqlState } from './transient';

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  code: string;
  details?: Record<string, unknown>;
}

const CODE_BY_STATUS: Record<number, string> = {
  400: 'VALIDATION_FAILED',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  416: 'RANGE_NOT_SATISFIABLE',
  429: 'TOO_MANY_REQUESTS',
  503: 'SERVICE_UNAVAILABLE',
};

const DB_UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08006',
]);

/** Whether `err` means the database cannot be reached (down, restarting, connection lost). */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string; driverError?: unknown; cause?: unknown };
  if (!e || typeof e !== 'object') return false;
  if (e.code && DB_UNAVAILABLE_CODES.has(e.code)) return true;
  if (
    typeof e.message === 'string' &&
    /Connection terminated|connection timeout|Client has encountered a connection error|terminating connection/i.test(
      e.message,
    )
  )
    return true;
  return isDatabaseUnavailable(e.driverError) || (e.cause !== err && isDatabaseUnavailable(e.cause));
}

/** Turns any error into the contract's body. Internals (stack, SQL, driver messages) never reach the client. */
export function toErrorBody(err: unknown): ErrorBody {
  if (err instanceof DomainError) {
    return {
      statusCode: err.status,
      error: STATUS_CODES[err.status] ?? 'Error',
      message: err.message,
      code: err.code,
      ...(err.details ? { details: err.details } : {}),
    };
  }
  if (err instanceof HttpException) {
    const status = err.getStatus();
    const res = err.getResponse() as string | { message?: string | string[]; code?: string };
    const raw = typeof res === 'string' ? res : res.message;
    const message = Array.isArray(raw) ? raw.join('; ') : (raw ?? err.message);
    if (status === 400 && /not valid JSON|Unexpected .* JSON/i.test(message)) {
      return {
        statusCode: 400,
        error: 'Bad Request',
        message: 'Request body is not valid JSON',
        code: 'INVALID_JSON',
      };
    }
    const code = (typeof res === 'object' && res.code) || CODE_BY_STATUS[status] || 'ERROR';
    return { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message, code };
  }
  // Errors raised by Fastify itself (content type, body size, malformed JSON) carry a statusCode < 500.
  const fst = err as { statusCode?: number; code?: string; message?: string };
  if (fst && typeof fst.statusCode === 'number' && fst.statusCode >= 400 && fst.statusCode < 500) {
    const status = fst.statusCode;
    const code =
      fst.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || /JSON/.test(fst.message ?? '')
        ? 'INVALID_JSON'
        : (CODE_BY_STATUS[status] ?? 'BAD_REQUEST');
    const message =
      status === 413
        ? 'Request body is too large'
        : status === 415
          ? 'Unsupported content type for this route'
          : code === 'INVALID_JSON'
            ? 'Request body is not valid JSON'
            : (STATUS_CODES[status] ?? 'Bad request');
    return { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message, code };
  }
  // A deadlock's victim still failing after its retries: the client may try again; never a 500.
  if (transientSqlState(err)) {
    return {
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'The change met a concurrent one and was not stored; try again shortly',
      code: 'TRANSIENT_CONFLICT',
    };
  }
  if (isDatabaseUnavailable(err)) {
    return {
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'The database is unavailable; try again shortly',
      code: 'DATABASE_UNAVAILABLE',
    };
  }
  return {
    statusCode: 500,
    error: 'Internal Server Error',
    message: 'An unexpected error occurred',
    code: 'INTERNAL_ERROR',
  };
}

interface ReplyLike {
  status(code: number): ReplyLike;
  header(name: string, value: string): ReplyLike;
  send(body: unknown): void;
  sent?: boolean;
}

@Catch()
export class GlobalExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const body = toErrorBody(exception);
    if (body.statusCode >= 500) {
      const e = exception as { name?: string; code?: string; message?: string; stack?: string };
      // Log the class, code and stack; not pg's `detail`, which can hold row values.
      // The request id ties the line to the request's access-log line.
      const reqId =
        host.getType() === 'http' ? host.switchToHttp().getRequest<{ id?: string }>()?.id : undefined;
      this.logger.error(
        { reqId, err: { name: e?.name, code: e?.code, message: e?.message, stack: e?.stack } },
        'request failed',
      );
    }
    if (host.getType() !== 'http') throw exception;
    const reply = host.switchToHttp().getResponse<ReplyLike>();
    if (reply.sent) return;
    if (exception instanceof TooManyRequestsError)
      reply.header('retry-after', String(exception.retryAfterSeconds));
    if (body.code === 'TRANSIENT_CONFLICT') reply.header('retry-after', '1');
    reply.status(body.statusCode ?? HttpStatus.INTERNAL_SERVER_ERROR).send(body);
  }
}
