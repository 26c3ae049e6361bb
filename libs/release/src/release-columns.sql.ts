import {
  CATALOGUE_FIELDS,
  DATE_FIELDS,
  Dataset,
  IDENTIFIER_COLUMNS,
  PERSON_FIELDS,
  SOURCE_ROW_KEY_FIELDS,
  type Tier,
} from '@custodian/catalog';
import { CODE_FORMATS, SERVICE_TYPES } from '@custodian/linkage';
import { DATASET_SQL } from './dataset-sql';
import type { LatticeNode } from './k-anonymity';
import { KM_ITEM_FIELDS, KM_LEVEL_COLUMNS } from './km-anonymity.sql';
import { LOCATION_QI_FIELD, locationOutput } from './location-qi';
import { ageAt, areaAt, ethAt, level, NO_GENERALISATION } from './qi-ladders.sql';

/** The columns of a release's files by tier (SPEC §5's tier table), and the source row keys. */
export interface Column {
  expr: string;
  name: string;
  description: string;
}

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
        description: 'postcode area or region as k-anonymity needs (* suppressed)',
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
 * The code format of each field that could otherwise carry free text (SPEC §5: "never free text"),
 * as the loaders check it (linkage's `source-codes.ts`). Rows loaded before those checks keep their
 * values (migration 1764000016000); a value that is not a code is released as empty (NULL), never as
 * held. The anonymised tier generalises these fields instead (kᵐ levels, location ladders), and the
 * release verifier refuses a file whose value is not a code or its generalisation.
 */
const CODE_FORMAT_SQL: Record<string, (e: string) => string> = {
  diagnosis_icd10: (e) => `${e} ~ '${CODE_FORMATS.icd10}'`,
  procedure_opcs4: (e) => `${e} ~ '${CODE_FORMATS.opcs4}'`,
  provider_code: (e) => `${e} ~ '${CODE_FORMATS.ods}'`,
  la_code: (e) => `${e} ~ '${CODE_FORMATS.onsLa}'`,
  service_type: (e) => `${e} IN (${SERVICE_TYPES.map((t) => `'${t}'`).join(', ')})`,
  // An observation's value: a number and at most a unit code, as the intake now stores it (probe 14:
  // a name and a phone number in a unit). A value stored before, with free text, is released empty.
  value: (e) =>
    `${e} ~ '^[-+]?([0-9]+([.][0-9]+)?|[.][0-9]+)(e[-+]?[0-9]+)?( ([A-Za-z0-9%./*^_-]|\\[|\\]|[{]1[.]73_m2[}]){1,20})?$'`,
};
const codeOnly = (field: string, e: string) =>
  CODE_FORMAT_SQL[field] ? `CASE WHEN ${CODE_FORMAT_SQL[field](e)} THEN ${e} END` : e;

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
    if (tier === 'anonymised' && !km) {
      // Neither an item of kᵐ-anonymity nor generalised (an observation's value, a linkage step):
      // withheld. As held, 60 of 60 persons of one class were alone on one weighing's value, and two
      // releases of a bid joined person to person on it (probe 27).
      columns.push({
        expr: `'*'::text`,
        name: f,
        description: `${ev.description}: withheld in the anonymised tier (*)`,
      });
      continue;
    }
    const generalised = km && (DATE_FIELDS.has(f) || KM_CODE_FIELDS.has(f));
    const raw = generalised ? km.expr({ ...KM_LEVEL_COLUMNS }) : ev.expr;
    const held = tier === 'anonymised' ? raw : codeOnly(f, raw);
    const expr = SOURCE_TEXT_FIELDS.has(f) ? spreadsheetSafe(held) : held;
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
export function anonLocationLevel(dataset: Dataset, levels: LatticeNode): number {
  return levels.location?.[dataset] ?? 2;
}

/** A file of a row per event (some catalogue field of it is not a person field), else per person. */
export function isPerEvent(dataset: Dataset, fields: string[]): boolean {
  return CATALOGUE_FIELDS[dataset].some((f) => fields.includes(f) && !PERSON_FIELDS.has(f));
}

/** The header line COPY … HEADER would print for the dataset's file. */
export function datasetHeader(dataset: Dataset, fields: string[], tier: Tier): string {
  return (
    datasetColumns(dataset, fields, tier)
      .columns.map((c) => c.name)
      .join(',') + '\n'
  );
}
