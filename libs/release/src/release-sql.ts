import {
  CATALOGUE_FIELDS,
  DATE_FIELDS,
  Dataset,
  PERSON_FIELDS,
  SOURCE_ROW_KEY_FIELDS,
} from '@custodian/catalog';
import type { LatticeNode } from './k-anonymity';
import { KM_ITEM_FIELDS, KM_LEVEL_COLUMNS, kmRowKept } from './km-anonymity.sql';
import { LOCATION_QI_FIELD, locationOutput, pairKept } from './location-qi';
import { ETHNIC_GROUP, POSTCODE_AREA_REGION } from './reference-data';
import { ISO_DATE } from './release-spec';
import { IDENTIFIER_COLUMNS, type Tier } from '@custodian/catalog';
import { rowOrderHash } from './row-order';

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
 */
export interface Column {
  expr: string;
  name: string;
  description: string;
}

interface DatasetSql {
  table: string;
  /** Rows of the dataset joined to their person; `x` is the dataset row. */
  from: string;
  /** The row's own NHS number belongs to a blocked objector (linked to someone else or not). */
  blockedOwn: string;
  date: string;
  code: string;
  event: Record<string, { expr: string; description: string }>;
}

/**
 * A source row belongs to the person of its linked patient, else to its own NHS number. Written as
 * two joins with `rp` (by patient id, and by NHS number for unlinked rows) rather than a join
 * through `patients`, so a shard reads only its own persons' rows without joining all patients.
 */
function sourceFrom(table: string): string {
  return `(SELECT s.*, r.nhs AS person_nhs FROM ${table} s JOIN rp r ON r.patient_id = s.patient_id
           UNION ALL
           SELECT s.*, r.nhs FROM ${table} s JOIN rp r ON r.nhs = s.nhs_number WHERE s.patient_id IS NULL) x
          JOIN rp ON rp.nhs = x.person_nhs`;
}

/** A HES / social-care row whose own NHS number is a blocked objector's, whoever it is linked to. */
const SOURCE_BLOCKED_OWN =
  '(x.nhs_number IS NOT NULL AND EXISTS (SELECT 1 FROM rel_blocked b WHERE b.nhs = x.nhs_number))';
const LINKAGE_STEP = {
  expr: 'x.linkage_step',
  description: 'HES/ONS linkage step (1-8) that linked the row, empty if unlinked',
};

export const DATASET_SQL: Record<Dataset, DatasetSql> = {
  gp: {
    table: 'gp_events',
    from: 'gp_events x JOIN rp ON rp.patient_id = x.patient_id',
    blockedOwn: 'false',
    date: 'x.event_date',
    code: 'x.code',
    event: {
      event_type: { expr: 'x.resource_type', description: 'condition, procedure, medication or observation' },
      code_system: { expr: 'x.code_system', description: 'snomed or readv2' },
      code: { expr: 'x.code', description: 'clinical code' },
      event_date: { expr: 'x.event_date', description: 'date of the event' },
      value: { expr: 'x.value', description: 'recorded value (observations)' },
    },
  },
  hes: {
    table: 'hes_episodes',
    from: sourceFrom('hes_episodes'),
    blockedOwn: SOURCE_BLOCKED_OWN,
    date: 'x.admission_date',
    code: 'x.diagnosis_icd10',
    event: {
      epikey: { expr: 'x.epikey', description: 'HES episode key' },
      admission_date: { expr: 'x.admission_date', description: 'date of admission' },
      diagnosis_icd10: { expr: 'x.diagnosis_icd10', description: 'primary diagnosis (ICD-10)' },
      procedure_opcs4: { expr: 'x.procedure_opcs4', description: 'main procedure (OPCS-4)' },
      provider_code: { expr: 'x.provider_code', description: 'provider organisation code' },
      linkage_step: LINKAGE_STEP,
    },
  },
  social_care: {
    table: 'social_care_records',
    from: sourceFrom('social_care_records'),
    blockedOwn: SOURCE_BLOCKED_OWN,
    date: 'x.start_date',
    code: 'x.service_type',
    event: {
      la_code: { expr: 'x.la_code', description: 'local authority code' },
      service_type: { expr: 'x.service_type', description: 'social care service type' },
      start_date: { expr: 'x.start_date', description: 'service start date' },
      end_date: { expr: 'x.end_date', description: 'service end date' },
      linkage_step: LINKAGE_STEP,
    },
  },
};

/** The cohort's event date range (either end open). */
export interface EventRange {
  from?: string;
  to?: string;
}

/** No generalisation: the finest level of every ladder (levels are lattice nodes). */
export const NO_GENERALISATION: LatticeNode = { age: 0, area: 0, ethnicity: 0 };

/** The quasi-identifiers a release's files carry (anonymised tier: what k-anonymity counts). */
export interface QuasiIdentifiers {
  age: boolean;
  sex: boolean;
  ethnicity: boolean;
  area: boolean;
}

/** What the SELECTs of one release depend on besides the catalogue. */
export interface Shape {
  tier: Tier;
  range: EventRange;
  levels: LatticeNode;
}

/**
 * Bit of `rp.files` set for a person with rows in the dataset; k-anonymity's small-class
 * suppression clears it again (computed only when a file needs it: per-person files and the
 * anonymised tier; 0 otherwise).
 */
export const FILE_BIT: Record<Dataset, number> = { gp: 1, hes: 2, social_care: 4 };

/** An ISO date as an SQL literal; anything else is refused (it is written into the SQL text). */
export function dateLiteral(d: string): string {
  if (!ISO_DATE.test(d)) throw new Error('event date is not YYYY-MM-DD');
  return `DATE '${d}'`;
}

/** `date` within the cohort's event range (`true` when the range is open at both ends). */
export function dateFilter(date: string, range: EventRange): string {
  const parts: string[] = [];
  if (range.from) parts.push(`${date} >= ${dateLiteral(range.from)}`);
  if (range.to) parts.push(`${date} <= ${dateLiteral(range.to)}`);
  return parts.length ? `(${parts.join(' AND ')})` : 'true';
}

const level = (n: number) => {
  if (!Number.isInteger(n) || n < 0 || n > 9) throw new Error('generalisation level out of range');
  return String(n);
};

/** The person columns of SPEC §5's tier table and step 6 column names. */
function personColumn(tier: Tier, field: string, levels: LatticeNode): Column | undefined {
  if (tier === 'aggregate') return undefined;
  const names = IDENTIFIER_COLUMNS[tier];
  switch (field) {
    case 'nhs_number':
      if (tier === 'identifiable')
        return { expr: 'rp.nhs', name: names.nhs_number, description: 'NHS number as held' };
      if (tier === 'pseudonymised')
        return {
          expr: 'rp.pid',
          name: names.nhs_number,
          description:
            'HMAC-SHA256 of the NHS number under the bid key: stable across releases of this bid only',
        };
      return {
        expr: 'rp.pid',
        name: names.nhs_number,
        description: 'random person token, new in every release',
      };
    case 'date_of_birth':
      if (tier === 'identifiable')
        return { expr: 'rp.birth_date', name: names.date_of_birth, description: 'date of birth as held' };
      if (tier === 'pseudonymised')
        return {
          expr: 'rp.bym', // to_char once per person, in the working set
          name: names.date_of_birth,
          description: 'year and month of birth (YYYY-MM)',
        };
      return {
        expr: ageAt(level(levels.age), 'rp.a5'),
        name: names.date_of_birth,
        description: 'age band at the release date (five-year, widened as k-anonymity needs; * suppressed)',
      };
    case 'postcode':
      if (tier === 'identifiable')
        return { expr: 'rp.postcode', name: names.postcode, description: 'postcode as held' };
      if (tier === 'pseudonymised')
        return {
          expr: 'rp.district',
          name: names.postcode,
          description: 'postcode district (outward code)',
        };
      return {
        expr: areaAt(level(levels.area), 'rp.district'),
        name: names.postcode,
        description: 'postcode district, area or region as k-anonymity needs (* suppressed)',
      };
    case 'sex':
      return tier === 'anonymised'
        ? { expr: "coalesce(rp.sex, 'U')", name: 'sex', description: 'M, F or U' }
        : { expr: 'rp.sex', name: 'sex', description: 'M, F or U' };
    case 'ethnicity':
      return tier === 'anonymised'
        ? {
            expr: ethAt(level(levels.ethnicity), 'rp.eth'),
            name: 'ethnicity',
            description: 'ethnic category (A-Z), or ethnic group, as k-anonymity needs (* suppressed)',
          }
        : {
            expr: 'rp.ethnicity',
            name: 'ethnicity',
            description: 'NHS data dictionary ethnic category (A-Z)',
          };
    case 'practice_ods':
      // The practice locates a person more finely than the k-anonymised area: never in the anonymised tier.
      return tier === 'anonymised'
        ? undefined
        : { expr: 'rp.practice_ods', name: 'practice_ods', description: 'registered GP practice (ODS code)' };
  }
  return undefined;
}

/** Event fields copied from a source as text (codes, keys, values): the ones a formula could hide in. */
export const SOURCE_TEXT_FIELDS: ReadonlySet<string> = new Set([
  'code',
  'value',
  'epikey',
  'diagnosis_icd10',
  'procedure_opcs4',
  'provider_code',
  'la_code',
  'service_type',
]);

/**
 * A released cell is data, never a formula: a text value that a spreadsheet would run (starting
 * with =, +, -, @, tab or carriage return) gets a leading apostrophe, as the register's CSV does —
 * except plain signed numbers (`-1.5` in an observation's value). Defence in depth behind the
 * loaders' format checks; the first-character test keeps the cost off ordinary values.
 */
export function spreadsheetSafe(expr: string): string {
  return `CASE WHEN left(${expr}, 1) IN ('=', '+', '-', '@', E'\\t', E'\\r')
                 AND ${expr} !~ '^[-+]?[0-9]+([.][0-9]+)?$' THEN '''' || ${expr} ELSE ${expr} END`;
}

/**
 * The one-row table (`k bytea`) holding the source row key (`ReleaseKeys.sourceRowKey`) in the
 * transaction of a shard that writes a keyed row key: created there, the key a bound parameter,
 * dropped at commit. A SELECT that keys a row key without it fails rather than release the key as
 * held.
 */
export const SOURCE_ROW_KEY_TABLE = 'rel_row_key';

/** Whether a release's files key a source row key (and so its shards need `SOURCE_ROW_KEY_TABLE`). */
export function needsSourceRowKey(tier: Tier, datasets: { fields: string[] }[]): boolean {
  return (
    (tier === 'pseudonymised' || tier === 'anonymised') &&
    datasets.some((d) => d.fields.some((f) => SOURCE_ROW_KEY_FIELDS.has(f)))
  );
}

/**
 * A source row key by tier (SPEC §5 table): as held (identifiable); hex HMAC-SHA256 under the
 * source row key (pseudonymised: derived from the bid key, stable across the bid's releases,
 * unlinkable across bids); the same truncated to 128 bits under a key derived from the release's
 * token seed (anonymised: new per release). The field name is part of the message, so keys of two
 * fields never collide.
 */
function sourceRowKeyColumn(tier: Tier, field: string, ev: { expr: string; description: string }): Column {
  if (tier === 'identifiable')
    return { expr: spreadsheetSafe(ev.expr), name: field, description: `${ev.description} as held` };
  const mac = `encode(hmac(convert_to('${field}:' || ${ev.expr}, 'UTF8'), (SELECT k FROM ${SOURCE_ROW_KEY_TABLE}), 'sha256'), 'hex')`;
  return tier === 'pseudonymised'
    ? {
        expr: mac,
        name: field,
        description: `${ev.description}, keyed per bid: hex HMAC-SHA256 under a key derived from the bid key, stable across releases of this bid only, never as held`,
      }
    : {
        expr: `left(${mac}, 32)`,
        name: field,
        description: `${ev.description}, replaced by a random token (128 bits, hex), new in every release`,
      };
}

/** The columns of one dataset's file, in catalogue order, and whether it is one row per event. */
export function datasetColumns(
  dataset: Dataset,
  fields: string[],
  tier: Tier,
  levels: LatticeNode = NO_GENERALISATION,
): { columns: Column[]; perEvent: boolean } {
  const wanted = CATALOGUE_FIELDS[dataset].filter((f) => fields.includes(f));
  const perEvent = isPerEvent(dataset, fields);
  const columns: Column[] = [];
  for (const f of wanted) {
    if (PERSON_FIELDS.has(f)) {
      const c = personColumn(tier, f, levels);
      if (c) columns.push(c);
      continue;
    }
    const ev = DATASET_SQL[dataset].event[f];
    if (SOURCE_ROW_KEY_FIELDS.has(f)) {
      columns.push(sourceRowKeyColumn(tier, f, ev));
      continue;
    }
    if (tier === 'anonymised' && LOCATION_QI_FIELD[dataset] === f) {
      // A location quasi-identifier at its chosen level; without one, `*` (fail closed).
      columns.push({
        expr: locationOutput(dataset, ev.expr, anonLocationLevel(dataset, levels), spreadsheetSafe),
        name: f,
        description: `${ev.description} as held, or its region, as k-anonymity needs (* suppressed)`,
      });
      continue;
    }
    // Anonymised: codes and dates at the person's kᵐ-anonymity levels (`rp.kmc`, `rp.kmp`, chosen
    // per demographic class; km-anonymise.ts); a person without them gets the top rung (`*`).
    const km = tier === 'anonymised' ? KM_ITEM_FIELDS[dataset]?.[f] : undefined;
    const generalised = km && (DATE_FIELDS.has(f) || KM_CODE_FIELDS.has(f));
    const raw = generalised ? km.expr({ ...KM_LEVEL_COLUMNS }) : ev.expr;
    const expr = SOURCE_TEXT_FIELDS.has(f) ? spreadsheetSafe(raw) : raw;
    const description =
      tier === 'anonymised' && DATE_FIELDS.has(f)
        ? `${ev.description}, year and month (YYYY-MM), or year (YYYY), or * as kᵐ-anonymity needs (per demographic class)`
        : generalised
          ? `${ev.description}, or its group, chapter or code system, or * as kᵐ-anonymity needs (per demographic class)`
          : ev.description;
    columns.push({ expr, name: f, description });
  }
  return { columns, perEvent };
}

/** Code columns that climb kᵐ-anonymity's code ladder in the anonymised tier. */
const KM_CODE_FIELDS: ReadonlySet<string> = new Set([
  'code',
  'diagnosis_icd10',
  'procedure_opcs4',
  'service_type',
]);

/** The level of a file's location column in the anonymised tier: the chosen one, else `*` (2). */
function anonLocationLevel(dataset: Dataset, levels: LatticeNode): number {
  return levels.location?.[dataset] ?? 2;
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

/** A file of a row per event (some catalogue field of it is not a person field), else per person. */
export function isPerEvent(dataset: Dataset, fields: string[]): boolean {
  return CATALOGUE_FIELDS[dataset].some((f) => fields.includes(f) && !PERSON_FIELDS.has(f));
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
 * key and identifier, then date and row id, so shards concatenated in order give one stable order,
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
    const rows = (lead = '') => `SELECT ${lead}${cols} FROM ${d.from}
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
             ORDER BY rp.okey, rp.pid, ${d.date}, x.id`;
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
 * The equivalence class of a base cell (`rel_kbase`: the base values, with the ladders' upper
 * rungs stored as `parea`, `region` and `eg`) over the released quasi-identifiers at the given
 * levels (SQL integer expressions), for columns under prefix `p`. Never NULL, so classes compare
 * with `=`.
 */
export function classOf(
  qi: QuasiIdentifiers,
  lvl: { age: string; area: string; ethnicity: string },
  p: string,
) {
  return {
    a: qi.age ? ageKey(lvl.age, `${p}a5`) : '-1',
    r: qi.area ? areaAt(lvl.area, `${p}district`, `${p}parea`, `${p}region`) : `'*'`,
    e: qi.ethnicity ? ethAt(lvl.ethnicity, `${p}eth`, `${p}eg`) : `'*'`,
    s: qi.sex ? `coalesce(${p}sex, 'U')` : `'*'`,
  };
}

/** Levels as SQL literals. */
export const levelSql = (l: LatticeNode) => ({
  age: level(l.age),
  area: level(l.area),
  ethnicity: level(l.ethnicity),
});

/** The header line COPY … HEADER would print for the dataset's file. */
export function datasetHeader(dataset: Dataset, fields: string[], tier: Tier): string {
  return (
    datasetColumns(dataset, fields, tier)
      .columns.map((c) => c.name)
      .join(',') + '\n'
  );
}

/**
 * GP events in the release's date range, counted per patient into `table`: one scan of
 * `gp_events`, joined into the working set as `gp_n` (whether the person is in the GP file, and
 * the GP row counts).
 */
export const gpCounts = (table: string, range: EventRange) => `CREATE UNLOGGED TABLE ${table} AS
  SELECT x.patient_id, count(*)::bigint AS n FROM gp_events x
   WHERE ${dateFilter('x.event_date', range)} GROUP BY 1`;

/**
 * The persons (NHS numbers) with rows of a HES or social-care dataset that may leave (the linked
 * patient's, else the row's own: the attribution of `sourceFrom`, through `patients` because the
 * working set does not exist yet), into `table`. Joined into the working set's `files` bits.
 */
export function sourcePresence(table: string, dataset: Exclude<Dataset, 'gp'>, range: EventRange): string {
  const d = DATASET_SQL[dataset];
  return `CREATE UNLOGGED TABLE ${table} AS
    SELECT DISTINCT coalesce(p.nhs_number, x.nhs_number) AS nhs
      FROM ${d.table} x LEFT JOIN patients p ON p.id = x.patient_id
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

/** A JSON object of reference data as an SQL jsonb literal (constants of this code base only). */
function jsonbLiteral(value: Record<string, string>): string {
  return `'${JSON.stringify(value).replace(/'/g, "''")}'::jsonb`;
}
const REGION_OF_AREA = jsonbLiteral(POSTCODE_AREA_REGION);
const GROUP_OF_ETHNICITY = jsonbLiteral(ETHNIC_GROUP);

/**
 * The postcode area (leading letters) of a district, `unknown` for `unknown`. Stored postcodes are
 * normalised (`^[A-Z]{1,2}[0-9]…`), so the area is the first two characters less a digit. The
 * working set keeps the district only: the area, region and ethnic group are derived where they are
 * used (base cells, the suppression, the output), which took two joins and a regular expression
 * per person out of the working set's statement.
 */
export const areaOf = (district: string) =>
  `CASE WHEN ${district} = 'unknown' THEN 'unknown' ELSE rtrim(left(${district}, 2), '0123456789') END`;
/** The region of a postcode area (reference data); `unknown` when it has none. */
export const regionOf = (area: string) => `coalesce(${REGION_OF_AREA} ->> (${area}), 'unknown')`;
/** The ethnic group of an ethnic category (`Z` when missing); `Not stated` when unlisted. */
export const ethnicGroupOf = (eth: string) => `coalesce(${GROUP_OF_ETHNICITY} ->> (${eth}), 'Not stated')`;

// k-anonymity ladders over rp's base quasi-identifiers (a5: five-year lower bound, district,
// eth: ethnic category); `lvl` is an SQL integer expression.
export const ageAt = (lvl: string, a5: string) =>
  `CASE WHEN ${lvl} >= 3 THEN '*' WHEN ${a5} IS NULL THEN 'unknown'
        WHEN ${lvl} = 0 THEN ${a5} || '-' || (${a5} + 4)
        WHEN ${lvl} = 1 THEN (${a5} / 10 * 10) || '-' || (${a5} / 10 * 10 + 9)
        ELSE (${a5} / 20 * 20) || '-' || (${a5} / 20 * 20 + 19) END`;
/**
 * The same partition as `ageAt` as an integer: counting classes over the lattice does not need the
 * band's label, and building a string per person and level is not free. Never NULL: an
 * unknown age is a class of its own (-2; real keys are multiples of 5), because the small-class
 * suppression joins classes with `=`, which a NULL never satisfies.
 */
export const ageKey = (lvl: string, a5: string) =>
  `CASE WHEN ${lvl} >= 3 THEN -1 WHEN ${a5} IS NULL THEN -2 WHEN ${lvl} = 0 THEN ${a5}
        WHEN ${lvl} = 1 THEN ${a5} / 10 * 10 ELSE ${a5} / 20 * 20 END`;
/** The area ladder over a district; its upper rungs derived unless given (the base cells store them). */
export const areaAt = (lvl: string, district: string, area = areaOf(district), region = regionOf(area)) =>
  `CASE ${lvl} WHEN 0 THEN ${district} WHEN 1 THEN ${area} WHEN 2 THEN ${region} ELSE '*' END`;
/** The ethnicity ladder over a category; the group derived unless given. */
export const ethAt = (lvl: string, eth: string, group = ethnicGroupOf(eth)) =>
  `CASE ${lvl} WHEN 0 THEN ${eth} WHEN 1 THEN ${group} ELSE '*' END`;
