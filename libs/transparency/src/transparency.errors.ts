/**
 * The stable error codes this library raises (the `code` of its error answers). Each is also in
 * ERROR_CODES (libs/core/src/error-codes.ts, the OpenAPI enum); test/error-codes.e2e-spec.ts checks.
 */
export const TRANSPARENCY_ERRORS = {
  FORBIDDEN: 'FORBIDDEN',
  VALIDATION_FAILED: 'VALIDATION_FAILED',
} as const;
