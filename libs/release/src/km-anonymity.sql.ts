import { ICD10_CHAPTER_RANGES } from './km-anonymity';
import { locationClassKey } from './location-qi';

/**
 * SQL of the kᵐ-anonymity ladders and items (km-anonymity.ts has the same ladders in TypeScript;
 * the spec keeps them equal). A level is either a checked integer written into the SQL text (the
 * preparation, one node at a time) or the name of the person's level column (`rp.kmc`, `rp.kmp`:
 * a shard, where each demographic class has its own node); expressions are the catalogue's column
 * expressions (`x.` a source row), never values.
 */
const lvl = (n: number | undefined, top: number) => {
  const v = n ?? 0;
  if (!Number.isInteger(v) || v < 0 || v > top) throw new Error('kᵐ level out of range');
  return v;
};

/** A per-person level column: only these names are ever written into SQL as a level. */
export const KM_LEVEL_COLUMNS = { code: 'rp.kmc', period: 'rp.kmp' } as const;
type Level = number | (typeof KM_LEVEL_COLUMNS)[keyof typeof KM_LEVEL_COLUMNS];

const ICD10_CHAPTER_SQL = (three: string) =>
  `CASE ${ICD10_CHAPTER_RANGES.map(([lo, hi, ch]) => `WHEN ${three} BETWEEN '${lo}' AND '${hi}' THEN '${ch}'`).join(' ')} ELSE '*' END`;

function codeAtLevel(level: number, system: string, code: string): string {
  const l = lvl(level, 3);
  if (l === 0) return code;
  if (l === 3) return `CASE WHEN ${code} IS NULL OR ${code} = '' THEN ${code} ELSE '*' END`;
  const bare = `replace(${code}, '.', '')`;
  const three = `(upper(left(${bare}, 3)) COLLATE "C")`;
  return `CASE WHEN ${code} IS NULL OR ${code} = '' THEN ${code}
     WHEN ${system} = 'readv2' THEN left(${bare}, ${l === 1 ? 3 : 1})
     WHEN ${system} = 'icd10' THEN ${l === 1 ? `left(${bare}, 3)` : ICD10_CHAPTER_SQL(three)}
     WHEN ${system} = 'opcs4' THEN left(${bare}, ${l === 1 ? 3 : 1})
     WHEN ${system} = 'service_type' THEN ${l === 1 ? code : `'*'`}
     ELSE ${system}::text END`;
}

/** A level that is a person's column: a CASE over every rung; a missing level is the top (fail closed). */
function perPerson(level: Level, top: number, at: (l: number) => string): string {
  if (typeof level === 'number') return at(level);
  if (level !== KM_LEVEL_COLUMNS.code && level !== KM_LEVEL_COLUMNS.period)
    throw new Error('kᵐ level column');
  const rungs = Array.from({ length: top }, (_, l) => `WHEN ${l} THEN (${at(l)})`).join(' ');
  return `CASE ${level} ${rungs} ELSE (${at(top)}) END`;
}

/** The code ladder (see `generaliseCode`) over a code and its system's SQL expression. */
export function codeAt(level: Level | undefined, system: string, code: string): string {
  return perPerson(level ?? 0, 3, (l) => codeAtLevel(l, system, code));
}

/** The period ladder over a date: year and month → year → none (`*`, NULL too); below it NULL stays NULL. */
export function periodAt(level: Level | undefined, date: string): string {
  return perPerson(level ?? 0, 2, (l) =>
    lvl(l, 2) === 2 ? `'*'` : `to_char(${date}, '${l === 0 ? 'YYYY-MM' : 'YYYY'}')`,
  );
}

/** Levels of one item: code and period (numbers, or the person's columns) and the file's location level. */
export interface KmLevels {
  code: Level;
  period: Level;
  /** The location column's level chosen by k-anonymity (location-qi.ts); absent: `*`. */
  location?: number;
}

/**
 * The event fields that make a row's item, per dataset (as released: generalised), and the source
 * columns each needs. A location column is part of the item (at its k-anonymity level), so an item
 * carried by k persons of a class keeps each of its person-location classes at k or more. Other
 * event fields (observation values, linkage step, row keys) are not items.
 */
export const KM_ITEM_FIELDS: Record<
  string,
  Record<string, { columns: string[]; expr: (l: KmLevels) => string }>
> = {
  gp: {
    event_type: { columns: ['resource_type'], expr: () => 'x.resource_type' },
    code_system: { columns: ['code_system'], expr: () => 'x.code_system' },
    code: { columns: ['code_system', 'code'], expr: (l) => codeAt(l.code, 'x.code_system', 'x.code') },
    event_date: { columns: ['event_date'], expr: (l) => periodAt(l.period, 'x.event_date') },
  },
  hes: {
    admission_date: { columns: ['admission_date'], expr: (l) => periodAt(l.period, 'x.admission_date') },
    diagnosis_icd10: {
      columns: ['diagnosis_icd10'],
      expr: (l) => codeAt(l.code, `'icd10'`, 'x.diagnosis_icd10'),
    },
    procedure_opcs4: {
      columns: ['procedure_opcs4'],
      expr: (l) => codeAt(l.code, `'opcs4'`, 'x.procedure_opcs4'),
    },
    provider_code: {
      columns: ['provider_code'],
      expr: (l) => locationClassKey('hes', 'x.provider_code', l.location ?? 2),
    },
  },
  social_care: {
    la_code: {
      columns: ['la_code'],
      expr: (l) => locationClassKey('social_care', 'x.la_code', l.location ?? 2),
    },
    service_type: {
      columns: ['service_type'],
      expr: (l) => codeAt(l.code, `'service_type'`, 'x.service_type'),
    },
    start_date: { columns: ['start_date'], expr: (l) => periodAt(l.period, 'x.start_date') },
    end_date: { columns: ['end_date'], expr: (l) => periodAt(l.period, 'x.end_date') },
  },
};

/** The item fields a file of the release carries, in catalogue order. */
export function kmItemFields(dataset: string, fields: string[]): string[] {
  return Object.keys(KM_ITEM_FIELDS[dataset] ?? {}).filter((f) => fields.includes(f));
}

/**
 * A row's item (`x` a source row, or a row of the base table with the same column names): the
 * dataset, then each item field as released, NULL kept apart from any value. Text in "C" order.
 */
export function kmItemSql(dataset: string, fields: string[], levels: KmLevels): string {
  const parts = kmItemFields(dataset, fields).map(
    (f) => `coalesce((${KM_ITEM_FIELDS[dataset][f].expr(levels)})::text, chr(2))`,
  );
  return `(${[`'${dataset}'`, ...parts].join(` || chr(1) || `)}) COLLATE "C"`;
}

/**
 * A shard's condition that a row's item (at its person's levels) was not suppressed for the
 * person's class (the item's text is not in the person's `kmgone`).
 */
export function kmRowKept(dataset: string, fields: string[], location: number | undefined): string {
  const item = kmItemSql(dataset, fields, { ...KM_LEVEL_COLUMNS, location });
  return `(rp.kmgone IS NULL OR NOT (${item} = ANY(rp.kmgone)))`;
}
