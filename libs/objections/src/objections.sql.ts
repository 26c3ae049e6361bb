/**
 * Named queries of the objection register for other libraries: what they read of
 * `objection_events` and `objection_register` (this library's tables) goes through these, so the
 * import graph shows every dependency on the register. Each returns SQL to embed as a sub-query.
 */

/**
 * The active objections as the register stood at `at` (a SQL expression of type timestamptz,
 * usually a parameter such as `$1::timestamptz`): one row per NHS number and type, columns
 * `nhs_number` and `type`. It is the SQL function `objections_as_of` (migration 1764000052000),
 * which applies the deciding order of objections.service.ts, and, two steps through
 * `nhs_number_aliases` as they stood at `at` (`ALIASES`), every number of the records that carry an
 * objector's number and of the records sharing a number with those (review-28: an objection through
 * the API for a record's second number reached nothing held; review-30: records [n1, n2] and
 * [n3, n2] are one patient, SPEC §2, and one step from n1 left n3's data released).
 */
export const objectionsAsOf = (at: string): string =>
  `WITH o AS MATERIALIZED (SELECT nhs_number, type FROM objections_as_of(${at})),
        s1 AS MATERIALIZED (SELECT a.alias AS nhs_number, o.type FROM o JOIN ${ALIASES} a ON a.nhs_number = o.nhs_number
                             AND ${liveAt('a', at)})
   SELECT nhs_number, type FROM o
   UNION SELECT nhs_number, type FROM s1
   UNION SELECT a.alias, s1.type FROM s1 JOIN ${ALIASES} a ON a.nhs_number = s1.nhs_number AND ${liveAt('a', at)}`;

/**
 * The NHS numbers of `nhsNumbers` (a relation or parenthesised sub-query with an `nhs_number`
 * column) whose register entry is an active Type 1 objection now, or within two steps of such a
 * number through the pairs a practice's records gave (`ALIASES`).
 */
export const activeType1Among = (nhsNumbers: string): string =>
  `SELECT r.nhs_number FROM objection_register r
    WHERE r.type = 'type1' AND r.active AND r.nhs_number IN (SELECT nhs_number FROM ${nhsNumbers})
   UNION
   SELECT a.nhs_number FROM ${ALIASES} a JOIN objection_register r ON r.nhs_number = a.alias
    WHERE a.retracted_at IS NULL AND r.type = 'type1' AND r.active
      AND a.nhs_number IN (SELECT nhs_number FROM ${nhsNumbers})
   UNION
   SELECT a.nhs_number FROM ${ALIASES} a JOIN ${ALIASES} b ON b.nhs_number = a.alias
          JOIN objection_register r ON r.nhs_number = b.alias
    WHERE a.retracted_at IS NULL AND b.retracted_at IS NULL AND r.type = 'type1' AND r.active
      AND a.nhs_number IN (SELECT nhs_number FROM ${nhsNumbers})`;

/** Whether pair `a` (an alias of `nhs_number_aliases`) stood at `at`. */
const liveAt = (a: string, at: string) =>
  `${a}.recorded_at <= ${at} AND (${a}.retracted_at IS NULL OR ${a}.retracted_at > ${at})`;

/**
 * NHS numbers a practice's record gave as one person's, each pair both ways (migration
 * 1764000061000). An objection reaches two steps through them: the numbers of every record carrying
 * the objector's number, then those of every record sharing one of them. Records [n1, n2] and
 * [n3, n2] are one patient (SPEC §2: duplicate records with one NHS number), so an objection on n1
 * applies under n3 as it does when written in the practice's extract on the first record (its
 * `reach` starts from the record's numbers: review-30). Not a closure: one wrong number on one
 * record makes one more person an objector, and a chain of such records no further (review-19).
 * Read so wherever the register is: `objectionsAsOf`, `activeType1Among`, `withAliases`, and the
 * release verifier's own reading (libs/release verifier-sql.ts).
 */
const ALIASES = 'nhs_number_aliases';

/**
 * The statements that record practice `$1`'s pairs of `pairs` (a table with `record_id`,
 * `nhs_number` and `alias`, each pair both ways), run in order: a pair the practice's records
 * `records` (a table with `id`: the records its extract carries whole) no longer give stops
 * counting (`retracted_at`), and a pair not yet in force is recorded (a pair given again after it was
 * retracted is a new row: what a release counts by its snapshot only grows).
 */
export const recordAliasesSql = (pairs: string, records: string): string[] => [
  `UPDATE ${ALIASES} a SET retracted_at = now()
    WHERE a.practice_ods = $1 AND a.retracted_at IS NULL AND a.record_id IN (SELECT id FROM ${records})
      AND NOT EXISTS (SELECT 1 FROM ${pairs} p
                       WHERE p.record_id = a.record_id AND p.nhs_number = a.nhs_number AND p.alias = a.alias)`,
  `INSERT INTO ${ALIASES} (practice_ods, record_id, nhs_number, alias)
   SELECT DISTINCT $1, p.record_id, p.nhs_number, p.alias FROM ${pairs} p WHERE p.nhs_number <> p.alias
   ON CONFLICT (practice_ods, record_id, nhs_number, alias) WHERE retracted_at IS NULL DO NOTHING`,
];

/**
 * The NHS numbers of `nhsNumbers` (as for `activeType1Among`) and every number within two steps of
 * one through the pairs practices' records gave (`ALIASES`), as a sub-query with an
 * `nhs_number` column.
 */
export const withAliases = (nhsNumbers: string): string =>
  `SELECT nhs_number FROM ${nhsNumbers} s
   UNION SELECT a.alias FROM ${ALIASES} a
          WHERE a.retracted_at IS NULL AND a.nhs_number IN (SELECT nhs_number FROM ${nhsNumbers})
   UNION SELECT b.alias FROM ${ALIASES} a JOIN ${ALIASES} b ON b.nhs_number = a.alias
          WHERE a.retracted_at IS NULL AND b.retracted_at IS NULL
            AND a.nhs_number IN (SELECT nhs_number FROM ${nhsNumbers})`;

/**
 * The entries practice `ods` (an SQL expression) recorded from its extracts, standing (not
 * retracted): `resource_id` (the entry's key, libs/practices objection-key.ts), `type`, `action` and
 * the `nhs_number` it was recorded for. An entry re-sent whose reference names nobody now (the upload
 * that first received it moved or deleted the registration it resolved through) names whom it named
 * then (SPEC §2: re-sending is idempotent "by patient + resource id"; review-28).
 */
export const extractEntriesOf = (ods: string): string =>
  `SELECT e.resource_id, e.type, e.action, e.nhs_number FROM objection_events e
    WHERE e.source = 'extract' AND e.practice_ods = ${ods} AND e.resource_id IS NOT NULL AND e.retracted_at IS NULL`;

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
 * Whether withdrawal `w` cancels registration `r` (aliases of `objection_events` rows of one NHS
 * number and type; SPEC §2): its instant is strictly later (on an exact tie the registration
 * stands), and it has authority over it — the same practice recorded both (the service's entries
 * always name their practice; history loaded from outside names none on either side), or the
 * withdrawing practice held the patient from before `r` was recorded (`holder_since`: its first
 * registration of the patient, kept on the withdrawal; NULL: it held none, so it withdraws its own
 * objections only). An outsider's probe (2026-12-07): with the latest entry deciding whoever made
 * it, a practice lifted another practice's patient's objection by registering one and withdrawing
 * its own, or by uploading the patient first to become their current practice. Migration
 * 1764000052000 applies the same rule in `objections_as_of`, and the release verifier its own copy.
 */
export const cancels = (w: string, r: string): string =>
  `${w}.effective_at > ${r}.effective_at AND ${w}.retracted_at IS NULL
   AND (${w}.practice_ods IS NOT DISTINCT FROM ${r}.practice_ods OR ${w}.holder_since <= ${r}.recorded_at)`;

/**
 * The registrations of the NHS numbers `nhs` (an SQL condition on `r`) that no withdrawal cancels:
 * the objections in force, one row per registration (`r.*`).
 */
export const liveRegistrations = (where: string): string =>
  `SELECT r.* FROM objection_events r
    WHERE r.action = 'register' AND ${where}
      AND NOT EXISTS (
        SELECT 1 FROM objection_events w
         WHERE w.nhs_number = r.nhs_number AND w.type = r.type AND w.action = 'withdraw' AND ${cancels('w', 'r')})`;

/**
 * The statement that recomputes the register rows of every NHS number listed in `table` (a table or
 * parenthesised sub-query with an `nhs_number` column) from the history; it returns how many rows
 * changed, by `type` and new state (`active`), as `n`. An objection is active while one of its
 * registrations is live (`liveRegistrations`); its instant is then the latest live registration's,
 * else the latest entry's. `ObjectionsService.refreshRegister` runs it.
 */
export const refreshRegisterSql = (table: string): string => `
      WITH keys AS (
        SELECT e.nhs_number, e.type, max(e.effective_at) AS latest
          FROM objection_events e
         WHERE e.nhs_number IN (SELECT nhs_number FROM ${table})
         GROUP BY e.nhs_number, e.type
      ), live AS (
        SELECT r.nhs_number, r.type, max(r.effective_at) AS at
          FROM (${liveRegistrations(`r.nhs_number IN (SELECT nhs_number FROM ${table})`)}) r
         GROUP BY r.nhs_number, r.type
      ), latest AS (
        SELECT k.nhs_number, k.type, l.at IS NOT NULL AS active, coalesce(l.at, k.latest) AS effective_at
          FROM keys k LEFT JOIN live l ON l.nhs_number = k.nhs_number AND l.type = k.type
      ), changed AS (
        INSERT INTO objection_register AS r (nhs_number, type, active, effective_on, effective_at, updated_at)
        SELECT nhs_number, type, active, (effective_at AT TIME ZONE 'UTC')::date, effective_at, now() FROM latest
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
