/**
 * The stable error codes this library raises (the `code` of its error answers). Each is also in
 * ERROR_CODES (libs/core/src/error-codes.ts, the OpenAPI enum); test/error-codes.e2e-spec.ts checks.
 */
export const GOVERNANCE_ERRORS = {
  ALREADY_VOTED: 'ALREADY_VOTED',
  AMENDMENT_TIER_FIXED: 'AMENDMENT_TIER_FIXED',
  RECUSED: 'RECUSED',
  SEGREGATION_OF_DUTIES: 'SEGREGATION_OF_DUTIES',
  TIER_ABOVE_REQUEST: 'TIER_ABOVE_REQUEST',
} as const;
