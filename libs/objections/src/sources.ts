/**
 * Named queries of the objections library for the libraries that read its tables (STYLE 13), beside
 * `objectionsAsOf` and `activeType1Among` (objections.sql.ts).
 */

/** The objection register as it stands now: one row per NHS number and type, `active` or not. */
export const OBJECTION_REGISTER_SOURCE = 'objection_register';
