import { HES_EPISODES_SOURCE, SOCIAL_CARE_SOURCE } from '@custodian/linkage';
import { GP_EVENTS_SOURCE, PATIENTS_SOURCE } from '@custodian/practices';
import type { AggregateDimension, Dataset } from '@custodian/catalog';
import { PRIMARY_MAX, roundToBase } from '../disclosure-control';
import { ETHNIC_GROUP } from '../reference-data';
import type { ReleaseSpec } from '../release.types';
import { activeObjections, VerifierDb } from './verifier-sql';

/**
 * The aggregate table recounted by the verifier (SPEC §5 steps 2 and 5, STYLE 17): the distinct
 * persons of each cell, counted again from the source tables with SQL of its own (not the engine's
 * cohort, exclusion or event SQL), then held against the file — a count shown must be the recount
 * rounded to 5 and over 7; a `*` may hide any count (primary, secondary or differencing
 * suppression); a cell the recount finds persons in must be in the table.
 *
 * Who is counted, from the SPEC: every person of the cohort (GP patients, and persons known only
 * from unlinked rows of a requested HES or social-care dataset: their NHS number, their earliest
 * date of birth and the sex and postcode of that row) except Type 1 objectors at the snapshot — a
 * consent cohort never applies at this tier, nor Type 2 objections. A HES or social-care row belongs
 * to its linked patient, else to its own NHS number, and is counted nowhere (nor selects anyone into
 * the cohort) when its own NHS number is a Type 1 objector's, whoever it is linked to.
 */

/** A cell of the recount: its dimension values (as the file writes them) and its distinct persons. */
export interface RecountedCell {
  key: string[];
  n: number;
}

/** Each dataset's event date and code (the `year` and `code` dimensions), read by the verifier. */
const EVENTS: Record<Dataset, { table: string; date: string; code: string }> = {
  gp: { table: GP_EVENTS_SOURCE, date: 'event_date', code: 'code' },
  hes: { table: HES_EPISODES_SOURCE, date: 'admission_date', code: 'diagnosis_icd10' },
  social_care: { table: SOCIAL_CARE_SOURCE, date: 'start_date', code: 'service_type' },
};

/**
 * Each dimension over a counted event `e` (its person's sex, age at the snapshot's date, postcode
 * and ethnic category; its date `d` and code `c`): five-year age bands top-coded at 90, the
 * postcode area its leading letters, the ethnic group of the category ($9, the reference data's).
 */
const DIMENSION: Record<AggregateDimension, string> = {
  sex: `coalesce(e.sex, 'U')`,
  age_band: `CASE WHEN e.age IS NULL THEN 'unknown' WHEN e.age >= 90 THEN '90+'
                  ELSE (e.age / 5 * 5) || '-' || (e.age / 5 * 5 + 4) END`,
  ethnic_group: `coalesce($9::jsonb ->> coalesce(e.ethnicity, 'Z'), 'Not stated')`,
  postcode_area: `CASE WHEN e.postcode IS NULL THEN 'unknown'
                       ELSE rtrim(left(left(replace(e.postcode, ' ', ''), -3), 2), '0123456789') END`,
  year: `coalesce(extract(year FROM e.d)::int::text, 'unknown')`,
  code: `coalesce(e.c, 'unknown')`,
};

/** A source row whose own NHS number is a Type 1 objector's (alias `s`). */
const TYPE1_ROW = `EXISTS (SELECT 1 FROM type1 b WHERE b.nhs = s.nhs_number)`;
const IN_RANGE = (date: string) =>
  `($7::date IS NULL OR ${date} >= $7::date) AND ($8::date IS NULL OR ${date} <= $8::date)`;

/**
 * The recount's statement for the spec's datasets and dimensions (every value a bound parameter):
 * each cell's distinct persons; with `values`, instead, the whole table's and each value's of each
 * dimension (`g` as GROUPING gives it), counting only events all of whose values are among
 * `within` (`n_within`; JSON null: every value) and among `kept` (`n_kept`) — a parameter after the
 * others, JSON `{within, kept}`, one list of values per dimension (aggregate-values.ts).
 */
export function recountSql(datasets: Dataset[], dims: AggregateDimension[], values = false): string {
  const sources = datasets.filter((d) => d !== 'gp');
  const unlinked = sources
    .map(
      (d) =>
        `SELECT s.nhs_number, s.birth_date, s.sex, s.postcode FROM ${EVENTS[d].table} s
          WHERE s.patient_id IS NULL AND s.nhs_number IS NOT NULL`,
    )
    .join(' UNION ALL ');
  const events = datasets.map((d) => {
    const { table, date, code } = EVENTS[d];
    const who =
      d === 'gp'
        ? `JOIN people x ON x.patient_id = s.patient_id`
        : `LEFT JOIN ${PATIENTS_SOURCE} linked ON linked.id = s.patient_id
           JOIN people x ON x.nhs = coalesce(linked.nhs_number, s.nhs_number)`;
    return `SELECT x.nhs, x.sex, x.age, x.postcode, x.ethnicity, s.${date} AS d, s.${code}::text AS c
              FROM ${table} s ${who}
             WHERE ${IN_RANGE(`s.${date}`)}${d === 'gp' ? '' : ` AND NOT ${TYPE1_ROW}`}`;
  });
  return `WITH type1 AS MATERIALIZED (${activeObjections('$1::timestamptz', `ARRAY['type1']::text[]`)}),
    persons AS (
      SELECT p.nhs_number AS nhs, p.id AS patient_id, p.birth_date, p.sex, p.postcode, p.ethnicity, p.practice_ods
        FROM ${PATIENTS_SOURCE} p
      ${
        unlinked
          ? `UNION ALL
      (SELECT DISTINCT ON (s.nhs_number) s.nhs_number, NULL::bigint, s.birth_date, s.sex, s.postcode, NULL::char(1), NULL::char(6)
        FROM (${unlinked}) s
       WHERE NOT EXISTS (SELECT 1 FROM ${PATIENTS_SOURCE} p WHERE p.nhs_number = s.nhs_number)
       ORDER BY s.nhs_number, s.birth_date NULLS LAST, s.sex, s.postcode NULLS LAST)`
          : ''
      }
    ),
    aged AS (
      SELECT y.*, date_part('year', age(($1::timestamptz AT TIME ZONE 'UTC')::date, y.birth_date))::int AS age
        FROM persons y
       WHERE NOT EXISTS (SELECT 1 FROM type1 b WHERE b.nhs = y.nhs)
    ),
    people AS (
      SELECT y.nhs, y.patient_id, y.sex, y.age, y.postcode, y.ethnicity FROM aged y
       WHERE ($2::text[] IS NULL OR y.practice_ods = ANY($2::text[]))
         AND ($3::text[] IS NULL OR substring(y.postcode from '^[A-Z]+') = ANY($3::text[]))
         AND ($4::int IS NULL OR y.age >= $4::int)
         AND ($5::int IS NULL OR y.age <= $5::int)
         AND ($6::text[] IS NULL
              OR EXISTS (SELECT 1 FROM ${GP_EVENTS_SOURCE} g WHERE g.patient_id = y.patient_id AND g.code = ANY($6::text[]))
              OR EXISTS (SELECT 1 FROM ${HES_EPISODES_SOURCE} s
                          WHERE s.nhs_number = y.nhs AND s.diagnosis_icd10 = ANY($6::text[]))
              OR EXISTS (SELECT 1 FROM ${HES_EPISODES_SOURCE} s
                          WHERE s.patient_id = y.patient_id AND s.diagnosis_icd10 = ANY($6::text[])
                            AND NOT ${TYPE1_ROW}))
    ),
    cell_person AS (
      SELECT DISTINCT ${[...dims.map((d, i) => `${DIMENSION[d]} AS k${i}`), 'e.nhs'].join(', ')}
        FROM (${events.join(' UNION ALL ')}) e
    )
    ${
      values
        ? valueCounts(dims)
        : `SELECT ${[...dims.map((_, i) => `k${i}`), 'count(*)::int AS n'].join(', ')} FROM cell_person
     ${dims.length ? `GROUP BY ${dims.map((_, i) => i + 1).join(', ')}` : ''}`
    }`;
}

/**
 * The final statement of `recountSql(…, true)`: the table's (`d` -1) and each value's (`d` its
 * dimension, `v` the value) distinct persons. Each person's flags (an event among `within`, among
 * `kept`) by value in one hashed grouping per dimension, then summed: count(DISTINCT) under
 * GROUPING SETS sorted the persons' cells six times and made the verification of a `year` × `code`
 * table at 100k persons 8 s longer.
 */
function valueCounts(dims: AggregateDimension[]): string {
  const p = `$${dims.includes('ethnic_group') ? 10 : 9}::jsonb`;
  const among = (list: string) =>
    dims
      .map((_, i) => `k${i} IN (SELECT jsonb_array_elements_text(${p} -> '${list}' -> ${i}))`)
      .join(' AND ') || 'true';
  const per = [
    `SELECT -1 AS d, ''::text AS v, nhs, bool_or(w) AS w, bool_or(kp) AS kp FROM flagged GROUP BY nhs`,
    ...dims.map(
      (_, i) => `SELECT ${i}, k${i}::text, nhs, bool_or(w), bool_or(kp) FROM flagged GROUP BY k${i}, nhs`,
    ),
  ];
  return `, flagged AS MATERIALIZED (
      SELECT ${[...dims.map((_, i) => `k${i}`), 'nhs'].join(', ')},
             ${p} -> 'within' = 'null'::jsonb OR (${among('within')}) AS w, ${among('kept')} AS kp
        FROM cell_person)
    SELECT d, v, count(*) FILTER (WHERE w)::int AS n_within, count(*) FILTER (WHERE kp)::int AS n_kept
      FROM (${per.join(' UNION ALL ')}) x GROUP BY d, v`;
}

/** The recount of a release's aggregate table, in `db` (the release's data snapshot, where given). */
export async function recountAggregate(
  db: VerifierDb,
  snapshotAt: string,
  spec: ReleaseSpec,
): Promise<RecountedCell[]> {
  const dims = spec.aggregation?.dimensions ?? [];
  const rows = (await db.query(recountSql(datasetsOf(spec), dims), recountParams(snapshotAt, spec))) as Row[];
  return rows.map((r) => ({ key: dims.map((_, i) => asWritten(String(r[`k${i}`]))), n: Number(r.n) }));
}

/** The whole table's (`dimension` -1) or one value's distinct persons, within and kept (raw values). */
export interface ValueCount {
  dimension: number;
  value: string;
  within: number;
  kept: number;
}

/** `recountSql(…, true)` run: each value's distinct persons among `within` (null: all) and `kept`. */
export async function recountValues(
  db: VerifierDb,
  snapshotAt: string,
  spec: ReleaseSpec,
  values: { within: string[][] | null; kept: string[][] },
): Promise<ValueCount[]> {
  const dims = spec.aggregation?.dimensions ?? [];
  const rows = (await db.query(recountSql(datasetsOf(spec), dims, true), [
    ...recountParams(snapshotAt, spec),
    JSON.stringify(values),
  ])) as Row[];
  return rows.map((r) => ({
    dimension: Number(r.d),
    value: String(r.v),
    within: Number(r.n_within),
    kept: Number(r.n_kept),
  }));
}

type Row = Record<string, string | number>;
const datasetsOf = (spec: ReleaseSpec) => spec.datasets.map((d) => d.dataset);

function recountParams(snapshotAt: string, spec: ReleaseSpec): unknown[] {
  const c = spec.cohort ?? {};
  return [
    snapshotAt,
    c.practices ?? null,
    c.postcodeAreas?.map((a) => a.toUpperCase()) ?? null,
    c.ageMin ?? null,
    c.ageMax ?? null,
    c.conditionCodes ?? null,
    c.eventsFrom ?? null,
    c.eventsTo ?? null,
    // $9 is in the statement only with that dimension (PostgreSQL refuses a parameter it does not use).
    ...((spec.aggregation?.dimensions ?? []).includes('ethnic_group') ? [JSON.stringify(ETHNIC_GROUP)] : []),
  ];
}

/**
 * A value as a CSV file of a release writes it (fields unquoted as the verifier reads them): one that
 * a spreadsheet would take for a formula — led by `=`, `+`, `-`, `@`, a tab or a carriage return, and
 * not a plain signed number — behind an apostrophe.
 */
export const asWritten = (v: string): string =>
  /^[=+\-@\t\r]/.test(v) && !/^[-+]?\d+(\.\d+)?$/.test(v) ? `'${v}` : v;

/**
 * The value `asWritten` wrote `w` from (the apostrophe it adds taken off; any other value as is). A
 * value that itself begins with an apostrophe and a formula's sign (`'=x`) is written like `=x` and
 * read back as `=x`: its table then fails the values check (fail closed; no code or value of the
 * reference data looks like that).
 */
export const asRead = (w: string): string =>
  w.startsWith("'") && asWritten(w.slice(1)) === w ? w.slice(1) : w;

/**
 * What is wrong with the table's cells against the recount (undefined: nothing). The message names
 * the row, never a count: the file's numbers are rounded, the recount's are exact.
 */
export function recountProblem(
  cells: { key: string[]; shown: string }[],
  recount: RecountedCell[],
  /**
   * Cells showing an earlier table's figure (the aggregate differencing guard, #25/#27), by key →
   * the cell ledger's exact count: that count must be the recount's (the guard compared it).
   */
  held: ReadonlyMap<string, number> = new Map(),
): string | undefined {
  const counted = new Map(recount.map((c) => [JSON.stringify(c.key), c.n]));
  for (let i = 0; i < cells.length; i++) {
    const k = JSON.stringify(cells[i].key);
    const n = counted.get(k) ?? 0;
    counted.delete(k);
    const shown = cells[i].shown;
    if (shown === '*') continue;
    const ledger = held.get(k);
    if (n <= PRIMARY_MAX || (ledger === undefined ? roundToBase(n) !== Number(shown) : ledger !== n))
      return `row ${i + 1}: a cell's count differs from the verifier's recount`;
  }
  // A recounted cell with persons that is not in the table: one of its values was left out (a value
  // under its threshold, checked by aggregate-values.ts); with every value in the table it is a
  // cell the table lost.
  const values = dimensionValues(cells);
  for (const c of recount)
    if (c.n >= 1 && counted.has(JSON.stringify(c.key)) && c.key.every((v, d) => values[d]?.has(v)))
      return "a cell the verifier's recount finds persons in is not in the table";
  return undefined;
}

/** Each dimension's values in the table (the file's cells). */
export const dimensionValues = (cells: { key: string[] }[]): Set<string>[] => {
  const values: Set<string>[] = (cells[0]?.key ?? []).map(() => new Set());
  for (const c of cells) c.key.forEach((v, d) => values[d].add(v));
  return values;
};
