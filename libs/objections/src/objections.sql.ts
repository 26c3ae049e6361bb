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

/**
 * The NHS numbers of `table` (rows `x` with an `nhs_number`, filtered by `where`) whose Type 1
 * objection was registered once and is no longer active (withdrawn): the only people who can have
 * linkage digests kept while they are not objectors. Each row looks up its register entry by key
 * (`OFFSET 0` keeps the lookup per row): joined as a set, the planner took the register's
 * withdrawals as one row where the statistics predate them (an intake withdraws in its own
 * transaction, before this runs) and scanned the extract once per withdrawal — 54 s for 3,000
 * withdrawals and an extract of 100,000 (docs/BENCHMARKS.md); by key it is 0.2 s.
 */
export const withdrawnType1Among = (table: string, where = 'true'): string =>
  `SELECT x.nhs_number FROM ${table} x CROSS JOIN LATERAL (
     SELECT 1 FROM objection_register r
      WHERE r.nhs_number = x.nhs_number AND r.type = 'type1' AND NOT r.active OFFSET 0) w
    WHERE ${where}`;

/**
 * Which entry of one NHS number and type decides (SPEC §2): the latest instant; on an exact tie the
 * registration (fail closed); then the latest recorded and the highest id. The same order is in
 * `objections_as_of` (migration 1764000014000), which releases read.
 */
const DECIDING_ORDER = `e.effective_at DESC, (e.action = 'register') DESC, e.recorded_at DESC, e.id DESC`;

/**
 * The statement that recomputes the register rows of every NHS number listed in `table` (a table or
 * parenthesised sub-query with an `nhs_number` column) from the history; it returns how many rows
 * changed, by `type` and new state (`active`), as `n`. `ObjectionsService.refreshRegister` runs it.
 */
export const refreshRegisterSql = (table: string): string => `
      WITH latest AS (
        SELECT DISTINCT ON (e.nhs_number, e.type)
               e.nhs_number, e.type, e.action = 'register' AS active, e.effective_on, e.effective_at
          FROM objection_events e
         WHERE e.nhs_number IN (SELECT nhs_number FROM ${table})
         ORDER BY e.nhs_number, e.type, ${DECIDING_ORDER}
      ), changed AS (
        INSERT INTO objection_register AS r (nhs_number, type, active, effective_on, effective_at, updated_at)
        SELECT nhs_number, type, active, effective_on, effective_at, now() FROM latest
        ON CONFLICT (nhs_number, type) DO UPDATE
           SET active = excluded.active, effective_on = excluded.effective_on,
               effective_at = excluded.effective_at, updated_at = now()
         WHERE (r.active, r.effective_at) IS DISTINCT FROM (excluded.active, excluded.effective_at)
        RETURNING r.type, r.active
      )
      SELECT type, active, count(*)::int AS n FROM changed GROUP BY type, active ORDER BY type, active`;

/**
 * A bulk load of objection history from outside the service (the benchmarks' populations, loaded
 * with a plain connection): `entries` (a parenthesised sub-query with `nhs_number`, `type`,
 * `action`, `effective_at` and `source`) joins `objection_events`, then the register follows. Run
 * the statements in order, in one transaction.
 */
export const loadObjectionHistorySql = (entries: string): string[] => [
  `CREATE TEMP TABLE loaded_objections ON COMMIT DROP AS SELECT * FROM ${entries} x`,
  `INSERT INTO objection_events (nhs_number, type, action, effective_at, source)
   SELECT nhs_number, type, action, effective_at, source FROM loaded_objections`,
  refreshRegisterSql('(SELECT DISTINCT nhs_number FROM loaded_objections)'),
];
