/**
 * Named queries of the objection register for other libraries: what they read of
 * `objection_events` and `objection_register` (this library's tables) goes through these, so the
 * import graph shows every dependency on the register. Each returns SQL to embed as a sub-query.
 */

/**
 * The active objections as the register stood at `at` (a SQL expression of type timestamptz,
 * usually a parameter such as `$1::timestamptz`): one row per NHS number and type, columns
 * `nhs_number` and `type`. It is the SQL function `objections_as_of` (migration 1764000014000),
 * which applies the deciding order of objections.service.ts.
 */
export const objectionsAsOf = (at: string): string => `SELECT nhs_number, type FROM objections_as_of(${at})`;

/**
 * The NHS numbers of `nhsNumbers` (a relation or parenthesised sub-query with an `nhs_number`
 * column) whose register entry is an active Type 1 objection now.
 */
export const activeType1Among = (nhsNumbers: string): string =>
  `SELECT r.nhs_number FROM objection_register r
    WHERE r.type = 'type1' AND r.active AND r.nhs_number IN (SELECT nhs_number FROM ${nhsNumbers})`;
