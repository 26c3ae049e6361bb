/**
 * The stable error codes this library raises (the `code` of its error answers). Each is also in
 * ERROR_CODES (libs/core/src/error-codes.ts, the OpenAPI enum); test/error-codes.e2e-spec.ts checks.
 * (A failed release's own codes, `ReleaseFailure`'s, are recorded on the release, not answered.)
 */
export const RELEASE_ERRORS = {
  AGREEMENT_NOT_IN_FORCE: 'AGREEMENT_NOT_IN_FORCE',
  BID_NOT_ACTIVE: 'BID_NOT_ACTIVE',
  BID_NOT_FOUND: 'BID_NOT_FOUND',
  NOT_FOUND: 'NOT_FOUND',
  RANGE_NOT_SATISFIABLE: 'RANGE_NOT_SATISFIABLE',
  RELEASE_IN_PROGRESS: 'RELEASE_IN_PROGRESS',
  RELEASE_NOT_COMPLETED: 'RELEASE_NOT_COMPLETED',
  RELEASE_NOT_DOWNLOADABLE: 'RELEASE_NOT_DOWNLOADABLE',
  SEGREGATION_OF_DUTIES: 'SEGREGATION_OF_DUTIES',
} as const;
