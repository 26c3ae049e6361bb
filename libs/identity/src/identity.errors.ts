/**
 * The stable error codes this library raises (the `code` of its error answers). Each is also in
 * ERROR_CODES (libs/core/src/error-codes.ts, the OpenAPI enum); test/error-codes.e2e-spec.ts checks.
 */
export const IDENTITY_ERRORS = {
  CANNOT_DEMOTE_SELF: 'CANNOT_DEMOTE_SELF',
  EMAIL_TAKEN: 'EMAIL_TAKEN',
  NOT_FOUND: 'NOT_FOUND',
  ORGANISATION_EXISTS: 'ORGANISATION_EXISTS',
  ORGANISATION_REQUIRED: 'ORGANISATION_REQUIRED',
  PRACTICE_BINDING_NOT_ALLOWED: 'PRACTICE_BINDING_NOT_ALLOWED',
  PRACTICE_BINDING_REQUIRED: 'PRACTICE_BINDING_REQUIRED',
  UNKNOWN_ORGANISATION: 'UNKNOWN_ORGANISATION',
  UNKNOWN_PRACTICE: 'UNKNOWN_PRACTICE',
  /** A password set through PATCH that is built on the user's email (the body's own checks are the pipe's). */
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  WEAK_PASSWORD: 'WEAK_PASSWORD',
} as const;

/** The role grants' codes (a second pair of eyes on governance roles): also in ERROR_CODES. */
export const GRANT_ERRORS = {
  SELF_ROLE_GRANT: 'SELF_ROLE_GRANT',
  APPROVER_IS_REQUESTER: 'GRANT_APPROVER_IS_REQUESTER',
  APPROVER_IS_GRANTEE: 'GRANT_APPROVER_IS_GRANTEE',
  NOT_PENDING: 'GRANT_NOT_PENDING',
  GRANTEE_DISABLED: 'GRANTEE_DISABLED',
} as const;
