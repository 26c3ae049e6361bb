/**
 * Named queries of the identity library for the libraries that read its tables (STYLE 13), beside
 * the statements of identity-queries.ts: the relation a reader's SQL names, imported from here so
 * the import graph shows the dependency.
 */

/** User accounts (roles, organisation, practice, disabled). */
export const USERS_SOURCE = 'users';

/** Applicant organisations (name, kind). */
export const ORGANISATIONS_SOURCE = 'organisations';
