/**
 * The stable error codes this library raises (the `code` of its error answers). Each is also in
 * ERROR_CODES (libs/core/src/error-codes.ts, the OpenAPI enum); test/error-codes.e2e-spec.ts checks.
 */
export const AUTH_ERRORS = {
  AUTH_FAILURES_THROTTLED: 'AUTH_FAILURES_THROTTLED',
  INVALID_CREDENTIALS: 'INVALID_CREDENTIALS',
  INVALID_TOKEN: 'INVALID_TOKEN',
  LOGIN_THROTTLED: 'LOGIN_THROTTLED',
  REFRESH_TOKEN_REUSED: 'REFRESH_TOKEN_REUSED',
  SESSION_ENDED: 'SESSION_ENDED',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  VALIDATION_FAILED: 'VALIDATION_FAILED',
} as const;
