/**
 * The stable error codes raised by core and the apps (generic, or about the request itself): the
 * `code` of their error answers. Every library keeps its own in `<lib>.errors.ts`; all of them are
 * in ERROR_CODES (error-codes.ts, the OpenAPI enum), which test/error-codes.e2e-spec.ts checks.
 */
export const CORE_ERRORS = {
  BODY_TOO_SLOW: 'BODY_TOO_SLOW',
  CLIENT_CLOSED: 'CLIENT_CLOSED',
  INVALID_JSON: 'INVALID_JSON',
  JSON_NOT_OBJECT: 'JSON_NOT_OBJECT',
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  PAGE_OUT_OF_RANGE: 'PAGE_OUT_OF_RANGE',
  REQUEST_HEADERS_TOO_LARGE: 'REQUEST_HEADERS_TOO_LARGE',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  TOO_MANY_UPLOADS: 'TOO_MANY_UPLOADS',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
} as const;
