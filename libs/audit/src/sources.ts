/**
 * Named query of the audit library for the libraries that read the trail (STYLE 13): the relation
 * a reader's SQL names (read only: `audit_log` is appended by `AuditService` alone).
 */

/** The hash-chained audit trail, one row per entry in `seq` order. */
export const AUDIT_LOG_SOURCE = 'audit_log';
