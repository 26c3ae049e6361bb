import { CORE_ERRORS } from './core.errors';
/**
 * Domain errors carry a stable machine-readable code and the HTTP status they map to. The one
 * global filter turns them into `{statusCode, error, message, code}`; messages must never hold
 * patient data or secrets. Every class takes the code first, then the message (NotFoundError: what
 * was not found), then details.
 */
export class DomainError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number = 400,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export class NotFoundError extends DomainError {
  constructor(code: string, what: string) {
    super(code, `${what} not found`, 404);
  }
}

export class ForbiddenError extends DomainError {
  constructor(code = 'FORBIDDEN', message = 'You are not allowed to do this') {
    super(code, message, 403);
  }
}

export class ConflictError extends DomainError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(code, message, 409, details);
  }
}

export class UnauthorizedError extends DomainError {
  constructor(code = 'UNAUTHENTICATED', message = 'Authentication required') {
    super(code, message, 401);
  }
}

export class ValidationError extends DomainError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(code, message, 400, details);
  }
}

export class TooManyRequestsError extends DomainError {
  constructor(
    code = 'TOO_MANY_REQUESTS',
    message = 'Too many attempts; try again later',
    readonly retryAfterSeconds = 900,
  ) {
    super(code, message, 429);
  }
}

/** A body of a content type the route does not take (checked before any guard or pipe sees it). */
export class UnsupportedMediaTypeError extends DomainError {
  constructor(expected: string) {
    super(CORE_ERRORS.UNSUPPORTED_MEDIA_TYPE, `Send the body as ${expected}`, 415);
  }
}

/** A request body arriving slower than the configured minimum rate (slowloris); the connection is closed. */
export class BodyTooSlowError extends DomainError {
  /** Read by Fastify when the error comes from the body's stream rather than from a handler. */
  readonly statusCode = 408;
  constructor(message: string) {
    super(CORE_ERRORS.BODY_TOO_SLOW, message, 408);
  }
}

/** Too many uploads in flight for one user or practice: refused before the body is read. */
export class UploadsBusyError extends TooManyRequestsError {
  constructor(who: 'user' | 'practice', limit: number) {
    super(
      CORE_ERRORS.TOO_MANY_UPLOADS,
      `At most ${limit} uploads at a time per ${who}; wait for one to finish`,
      5,
    );
  }
}
