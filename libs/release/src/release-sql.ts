import { GP_EVENTS_SOURCE, PATIENTS_SOURCE } from '@custodian/practices';
import type { Dataset, Tier } from '@custodian/catalog';
import { DATASET_SQL, dateFilter, type EventRange, FILE_BIT } from './dataset-sql';
import type { LatticeNode } from './k-anonymity';
import { kmRowKept } from './km-anonymity.sql';
import { LOCATION_QI_FIELD, pairKept } from './location-qi';
import { anonLocationLevel, datasetColumns } from './release-columns.sql';
import { rowOrderHash, withinPerson } from './row-order';

export { DATASET_SQL, dateFilter, dateLiteral, FILE_BIT } from './dataset-sql';
export type { EventRange } from './dataset-sql';
export {
  ageAt,
  ageKey,
  areaAt,
  areaOf,
  classOf,
  ethAt,
  ethnicGroupOf,
  levelSql,
  NO_GENERALISATION,
  regionOf,
} from './qi-ladders.sql';
export type { QuasiIdentifiers } from './qi-ladders.sql';
export {
  datasetColumns,
  datasetHeader,
  isPerEvent,
  needsSourceRowKey,
  SOURCE_ROW_KEY_TABLE,
  SOURCE_TEXT_FIELDS,
  spreadsheetSafe,
} from './release-columns.sql';
export type { Column } from './release-columns.sql';

/**
 * SQL pieces of the engine. Everything here is built from fixed catalogue names, tier rules and
 * two kinds of checked values — the cohort's event dates (ISO dates, checked by `dateLiteral`) and
 * the generalisation levels (integers) — never from free text, so the SELECTs inside
 * `COPY (…) TO STDOUT` (which cannot take bound parameters) reference only those literals and the
 * job's tables: `rp` (one row per person of the cohort, with the exclusion reason, the tier's
 * person identifier, the base quasi-identifiers and the files the person is in; a shard's temp
 * copy of its slice, or the committed working table itself for per-person files) and
 * `rel_blocked` (NHS numbers whose rows must not leave).
 *
 * The date range and levels are literals rather than columns of a one-row parameters table: a
 * `CROSS JOIN` with such a table is a nested loop the planner cannot fold, paid on every source
 * row (docs/BENCHMARKS.md).
 *
 * The pieces: `dataset-sql.ts` (the datasets' tables, rows and date range), `qi-ladders.sql.ts`
 * (the quasi-identifiers' ladders and classes), `release-columns.sql.ts` (the files' columns by
 * tier); here the SELECTs of the files and the cohort's counts.
 */

/** What the SELECTs of one release depend on besides the catalogue. */
export interface Shape {
  tier: Tier;
  range: EventRange;
  levels: LatticeNode;
  /** Per-event rows found person by person (`DatasetSql.lookupFrom`) rather than by a scan. */
  lookup?: boolean;
}

/**
 * Anonymised tier: the rows of a location file's person-location pairs that k-anonymity suppressed
 * stay out (`true` for other files and tiers).
 */
function locationPairKept(dataset: Dataset, fields: string[], shape: Shape): string {
  const field = LOCATION_QI_FIELD[dataset];
  if (shape.tier !== 'anonymised' || !field || !fields.includes(field)) return 'true';
  return pairKept(dataset, DATASET_SQL[dataset].event[field].expr, anonLocationLevel(dataset, shape.levels));
}

/**
 * The committed working set, read directly by the per-person files of one shard: the persons whose
 * order key `okey` lies in [first, last].
 */
export interface WorkSlice {
  work: { rp: string };
  first: string;
  last: string;
}

/**
 * The persons' order key, a bigint in the order of the tier's person identifier (`pid`): the first
 * 60 bits of the HMAC for the hashed tiers (hex, so numeric order is text order), the NHS number
 * for the identifiable tier (ten digits; anything else sorts first, by `pid`). Files are ordered by
 * (okey, pid) and shards are ranges of okey: with no row number to assign, the working set needs no
 * sort of its 1M rows, only an index on this key.
 */
export function orderKey(tier: Tier, nhs: string, pid: string): string {
  return tier === 'identifiable'
    ? `CASE WHEN ${nhs} ~ '^[0-9]{10}$' THEN ${nhs}::bigint ELSE -1 END`
    : `('x' || left(${pid}, 15))::bit(60)::bigint`;
}

/** An order key in SQL text: an integer, checked (it comes from the shard table). */
export const orderKeyLiteral = (key: string) => {
  if (!/^-?[0-9]{1,19}$/.test(key)) throw new Error('order key is not an integer');
  return key;
};

/**
 * The SELECT one shard of a dataset file is COPYed from. Files are ordered by the persons' order
 * key and identifier, then (a row per event) date and row id — in the anonymised tier the keyed
 * row hash and row id instead (`withinPerson`, row-order.ts) — so shards concatenated in order give one stable order,
 * and a retry over the same data writes the same bytes. The row order carries nothing of the order
 * data arrived in. A file without a person column (`shuffle`: the shard's range of the keyed row
 * hash) is ordered by that hash instead, and holds the rows whose hash is in the range
 * (`row-order.ts`).
 *
 * A row per event: runs in the shard's transaction on the coordinator's snapshot, where `rp` holds
 * the included persons (objectors, people outside the consent cohort and the filters are not in
 * it): the shard's only, or — when a file of the release is shuffled — all of them, and then a
 * person-ordered file keeps to the shard's (`slice`). A row per person (`slice` required): reads
 * the committed working set itself, the slice's included persons in index order (shuffled: all
 * included persons whose hash is in the range).
 */
export function datasetSelect(
  dataset: Dataset,
  fields: string[],
  shape: Shape,
  slice?: Pick<WorkSlice, 'first' | 'last'> & Partial<WorkSlice>,
  shuffle?: { lo: bigint; hi: bigint },
): string {
  const d = DATASET_SQL[dataset];
  const { columns, perEvent } = datasetColumns(dataset, fields, shape.tier, shape.levels);
  const cols = columns.map((c) => `${c.expr} AS ${c.name}`).join(', ');
  // Shuffled: the keyed hash and the row's id ride along for the range and the order.
  const shuffled = (rows: (lead: string) => string, id: string) =>
    `SELECT ${columns.map((c) => c.name).join(', ')}
       FROM (${rows(`${rowOrderHash(dataset, id)} AS rel_h, ${id} AS rel_id, `)}) s
      WHERE rel_h BETWEEN ${shuffle!.lo} AND ${shuffle!.hi} ORDER BY rel_h, rel_id`;
  if (perEvent) {
    // Anonymised: k-anonymity may have taken the person out of this file (its bit cleared), or a
    // person-location pair; kᵐ-anonymity the rows of items gone for the person's class.
    const rows = (lead = '') => `SELECT ${lead}${cols} FROM ${shape.lookup ? d.lookupFrom : d.from}
             WHERE ${dateFilter(d.date, shape.range)} AND NOT ${d.blockedOwn}${
               shape.tier === 'anonymised'
                 ? ` AND rp.files & ${FILE_BIT[dataset]} <> 0 AND ${locationPairKept(dataset, fields, shape)}
               AND ${kmRowKept(dataset, fields, shape.levels.location?.[dataset])}`
                 : ''
             }`;
    if (shuffle) return shuffled(rows, 'x.id');
    return `${rows()}${
      slice ? ` AND rp.okey BETWEEN ${orderKeyLiteral(slice.first)} AND ${orderKeyLiteral(slice.last)}` : ''
    }
             ORDER BY rp.okey, rp.pid, ${withinPerson(dataset, fields, shape.tier, d.date)}`;
  }
  if (!slice?.work) throw new Error('a per-person file reads the working set: slice required');
  const work = slice.work;
  const persons = (lead = '') => `SELECT ${lead}${cols} FROM ${work.rp} rp
           WHERE rp.excl IS NULL AND rp.files & ${FILE_BIT[dataset]} <> 0`;
  if (shuffle) return shuffled(persons, 'rp.pid');
  return `${persons()} AND rp.okey BETWEEN ${orderKeyLiteral(slice.first)} AND ${orderKeyLiteral(slice.last)}
           ORDER BY rp.okey, rp.pid`;
}

/**
 * GP events in the release's date range, counted per patient into `table`: one scan of
 * `gp_events`, joined into the working set as `gp_n` (whether the person is in the GP file, and
 * the GP row counts). With `cand` (a narrowed cohort's candidate patients, a work table), only
 * their events, looked up patient by patient in the `(patient_id, …)` index (a merge join would
 * read the index from its start to the cohort's last patient).
 */
export const gpCounts = (table: string, range: EventRange, cand?: string) =>
  cand
    ? `CREATE UNLOGGED TABLE ${table} AS
  SELECT k.patient_id, c.n FROM ${cand} k
   CROSS JOIN LATERAL (SELECT count(*)::bigint AS n FROM ${GP_EVENTS_SOURCE} x
                        WHERE x.patient_id = k.patient_id AND ${dateFilter('x.event_date', range)}) c
   WHERE c.n > 0`
    : `CREATE UNLOGGED TABLE ${table} AS
  SELECT x.patient_id, count(*)::bigint AS n FROM ${GP_EVENTS_SOURCE} x
   WHERE ${dateFilter('x.event_date', range)} GROUP BY 1`;

/**
 * The persons (NHS numbers) with rows of a HES or social-care dataset that may leave (the linked
 * patient's, else the row's own: the attribution of `sourceFrom`, through `patients` because the
 * working set does not exist yet), into `table`. Joined into the working set's `files` bits. With
 * `cand` (a narrowed cohort's candidate patients), only the rows linked to them (index lookups by
 * patient) and the unlinked rows (their partial index).
 */
export function sourcePresence(
  table: string,
  dataset: Exclude<Dataset, 'gp'>,
  range: EventRange,
  cand?: string,
): string {
  const d = DATASET_SQL[dataset];
  const rows = cand
    ? `(SELECT s.* FROM ${cand} k CROSS JOIN LATERAL (SELECT * FROM ${d.table} l WHERE l.patient_id = k.patient_id OFFSET 0) s
        UNION ALL SELECT * FROM ${d.table} s WHERE s.patient_id IS NULL)`
    : d.table;
  return `CREATE UNLOGGED TABLE ${table} AS
    SELECT DISTINCT coalesce(p.nhs_number, x.nhs_number) AS nhs
      FROM ${rows} x LEFT JOIN ${PATIENTS_SOURCE} p ON p.id = x.patient_id
     WHERE coalesce(p.nhs_number, x.nhs_number) IS NOT NULL AND ${dateFilter(d.date, range)} AND NOT ${d.blockedOwn}`;
}

/**
 * HES or social-care rows in the cohort, by why they are left out (NULL: included). (GP rows are
 * counted from the working set's per-person counts, `gp_n`.)
 */
export function rowReasons(dataset: Exclude<Dataset, 'gp'>, range: EventRange): string {
  const d = DATASET_SQL[dataset];
  return `SELECT CASE WHEN rp.excl IS NOT NULL THEN rp.excl WHEN ${d.blockedOwn} THEN 'row_nhs_number_objection' END AS reason,
                 count(*)::bigint AS n
            FROM ${d.from}
           WHERE ${dateFilter(d.date, range)} GROUP BY 1`;
}

/** Rows that carry no NHS number and are not linked: no person, so no objection check is possible. */
export function unattributableCount(dataset: Dataset, range: EventRange): string | undefined {
  if (dataset === 'gp') return undefined;
  return `SELECT count(*)::bigint AS n FROM ${DATASET_SQL[dataset].table} x
           WHERE x.patient_id IS NULL AND x.nhs_number IS NULL AND ${dateFilter(DATASET_SQL[dataset].date, range)}`;
}
