/**
 * kᵐ-anonymity over the events of the anonymised tier (SPEC §5 step 5; issue #27): an attacker who
 * knows a person's demographics and up to m of their events must find at least k persons that fit.
 * Each released event row is an item — its dataset and event columns as released (GP: event type,
 * code system, code, date; HES: admission date, diagnosis, procedure, provider; social care: local
 * authority, service type, start and end dates) — and every set of at most m items a person
 * carries, within that person's demographic class (the k-anonymised quasi-identifiers), is carried
 * by at least k persons of it.
 *
 * Each demographic class takes its own (code level, period level) node from a small lattice (the
 * first of `KM_NODES` that keeps its removed rows of each file within the cap), then items whose
 * sets of size 1…m are rarer than k in the class are suppressed for the whole class (the rows that
 * carry them leave). Suppressing an item for everyone in a class never lowers the support of any
 * set that does not contain it, so one pass per set size suffices (an approximation of Terrovitis
 * et al.'s apriori algorithm, 2008). The stage is km-anonymise.ts, its SQL ladders and items
 * km-anonymity.sql.ts; this file holds the ladders in TypeScript (mirrored in SQL and kept equal
 * by a test) and the lattice's order.
 */
export const CODE_LEVELS = ['code', 'group', 'chapter', 'none'] as const;
export const PERIOD_LEVELS = ['year_month', 'year', 'none'] as const;
/** The largest m the engine accepts (sets of m items per person grow as n^m). */
export const MAX_M = 3;

export interface KmNode {
  code: number;
  period: number;
}

export interface KmNodeStats extends KmNode {
  /** Event rows removed (their item suppressed), per dataset file. */
  suppressedByFile: Record<string, number>;
}

/**
 * The lattice's nodes of one height (code level + period level), in the order they are tried: the
 * finest code first (a researcher loses less from a coarser date than from a coarser code). The
 * first node of the lowest height that keeps every file within the cap is used.
 */
export function nodesOfHeight(height: number): KmNode[] {
  const out: KmNode[] = [];
  for (let code = CODE_LEVELS.length - 1; code >= 0; code--) {
    const period = height - code;
    if (period >= 0 && period < PERIOD_LEVELS.length) out.push({ code, period });
  }
  return out.sort((a, b) => a.code - b.code);
}

export const KM_TOP = CODE_LEVELS.length - 1 + PERIOD_LEVELS.length - 1;

/**
 * Every node of the lattice in the order a class tries them (`KM_NODES[i]` is node number i, as
 * the engine stores it per person): by height, the finest code first. Each demographic class takes
 * the first node whose removals stay within the cap of each file's rows of that class; the last
 * (every code and period `*`) takes whatever is left.
 */
export const KM_NODES: readonly KmNode[] = Array.from({ length: KM_TOP + 1 }, (_, h) =>
  nodesOfHeight(h),
).flat();

/** Whether a node keeps every file's removed rows within `maxShare` of its rows. */
export function kmWithinBudget(
  s: { suppressedByFile: Record<string, number> },
  rows: Record<string, number>,
  maxShare: number,
): boolean {
  return Object.entries(rows).every(
    ([file, n]) => (s.suppressedByFile[file] ?? 0) <= Math.floor(n * maxShare),
  );
}

/** ICD-10 chapters by the first three characters (letter and two digits), WHO 2019. */
const ICD10_CHAPTERS: [string, string, string][] = [
  ['A00', 'B99', 'I'],
  ['C00', 'D48', 'II'],
  ['D50', 'D89', 'III'],
  ['E00', 'E90', 'IV'],
  ['F00', 'F99', 'V'],
  ['G00', 'G99', 'VI'],
  ['H00', 'H59', 'VII'],
  ['H60', 'H95', 'VIII'],
  ['I00', 'I99', 'IX'],
  ['J00', 'J99', 'X'],
  ['K00', 'K93', 'XI'],
  ['L00', 'L99', 'XII'],
  ['M00', 'M99', 'XIII'],
  ['N00', 'N99', 'XIV'],
  ['O00', 'O99', 'XV'],
  ['P00', 'P96', 'XVI'],
  ['Q00', 'Q99', 'XVII'],
  ['R00', 'R99', 'XVIII'],
  ['S00', 'T98', 'XIX'],
  ['U00', 'U99', 'XXII'],
  ['V01', 'Y98', 'XX'],
  ['Z00', 'Z99', 'XXI'],
];
export const ICD10_CHAPTER_RANGES: readonly (readonly [string, string, string])[] = ICD10_CHAPTERS;

/** The ICD-10 chapter (roman numeral) of a code, `*` when it fits none. */
export function icd10Chapter(code: string): string {
  const three = code.replace(/\./g, '').slice(0, 3).toUpperCase();
  for (const [lo, hi, ch] of ICD10_CHAPTERS) if (three >= lo && three <= hi) return ch;
  return '*';
}

/**
 * The code ladders. Read v2: the code (dots are padding) → its first three characters → its first
 * (the chapter). SNOMED CT: the concept → the code system (the repository holds no SNOMED CT
 * hierarchy). ICD-10: the code → three characters → chapter. OPCS-4: the code → three characters →
 * chapter (its letter). Social-care service types are a short fixed list: kept up to the group
 * level. At the top (`none`) every code is `*`.
 */
export function generaliseCode(system: string, code: string | null, level: number): string | null {
  if (code === null || code === '' || level === 0) return code;
  if (level >= 3) return '*';
  const bare = code.replace(/\./g, '');
  switch (system) {
    case 'readv2':
      return level === 1 ? bare.slice(0, 3) : bare.slice(0, 1);
    case 'icd10':
      return level === 1 ? bare.slice(0, 3) : icd10Chapter(bare);
    case 'opcs4':
      return level === 1 ? bare.slice(0, 3) : bare.slice(0, 1);
    case 'service_type':
      return level === 1 ? code : '*';
    default: // snomed, and any other system without a hierarchy here
      return system;
  }
}

/** The period ladder over an ISO date: year and month → year → none (`*`, a missing date too). */
export function generalisePeriod(date: string | null, level: number): string | null {
  // At `none` a missing date is `*` too: whether a service has ended is itself a detail.
  if (level >= 2) return '*';
  if (date === null || date === '') return date;
  return level === 0 ? date.slice(0, 7) : level === 1 ? date.slice(0, 4) : '*';
}
