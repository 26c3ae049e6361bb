import { LA_PREFIX_REGION, LA_REGION, PROVIDER_REGION } from '../location-qi';
import { ETHNIC_GROUP, POSTCODE_AREA_REGION } from '../reference-data';
import { isValidNhsNumber } from '@custodian/core';
import { CATALOGUE_FIELDS, Dataset } from '@custodian/catalog';
import type { Tier } from '@custodian/catalog';

/**
 * The rules of SPEC §5 as the verifier reads them, written again from the SPEC (not from the
 * engine's column builders): what a file's header must be, which values may not appear, what an
 * aggregate cell may show. Pure functions, unit-tested beside this file.
 */

/** The person identifier columns of SPEC §5 step 6, by tier (field → column name; null: never released). */
const PERSON_COLUMNS: Record<Exclude<Tier, 'aggregate'>, Record<string, string | null>> = {
  identifiable: {
    nhs_number: 'nhs_number',
    date_of_birth: 'date_of_birth',
    postcode: 'postcode',
    sex: 'sex',
    ethnicity: 'ethnicity',
    practice_ods: 'practice_ods',
  },
  pseudonymised: {
    nhs_number: 'pseudo_id',
    date_of_birth: 'birth_year_month',
    postcode: 'postcode_district',
    sex: 'sex',
    ethnicity: 'ethnicity',
    practice_ods: 'practice_ods',
  },
  anonymised: {
    nhs_number: 'person_token',
    date_of_birth: 'age_band',
    postcode: 'area',
    sex: 'sex',
    ethnicity: 'ethnicity',
    practice_ods: null, // locates a person more finely than the k-anonymised area
  },
};

/** The person columns' names in each tier. */
export const PERSON_COLUMNS_OF_TIER: Record<Exclude<Tier, 'aggregate'>, ReadonlySet<string>> = {
  identifiable: new Set(Object.values(PERSON_COLUMNS.identifiable).filter((c): c is string => c !== null)),
  pseudonymised: new Set(Object.values(PERSON_COLUMNS.pseudonymised).filter((c): c is string => c !== null)),
  anonymised: new Set(Object.values(PERSON_COLUMNS.anonymised).filter((c): c is string => c !== null)),
};

/** The column a person identifier is released under, by tier. */
export const IDENTITY_COLUMN: Record<Exclude<Tier, 'aggregate'>, string> = {
  identifiable: 'nhs_number',
  pseudonymised: 'pseudo_id',
  anonymised: 'person_token',
};

/** Columns that identify directly and may appear in the identifiable tier only. */
export const IDENTIFIABLE_ONLY = ['nhs_number', 'date_of_birth', 'postcode'];

/**
 * The location columns of SPEC §5 step 4 ("every other location- or time-like column a file
 * carries"): HES provider and social-care local authority. (GP practice is never in an anonymised
 * file.) A person's rows may differ in them: each row's class is its person's with its location.
 */
export const LOCATION_QUASI_IDENTIFIER_COLUMNS = ['provider_code', 'la_code'];

/** The person quasi-identifier columns (one value per person): kᵐ-anonymity's class. */
export const PERSON_QUASI_IDENTIFIER_COLUMNS = ['age_band', 'sex', 'ethnicity', 'area'];

/** The quasi-identifier columns of the anonymised tier's k-anonymity (SPEC §5 step 4). */
export const QUASI_IDENTIFIER_COLUMNS = [
  ...PERSON_QUASI_IDENTIFIER_COLUMNS,
  ...LOCATION_QUASI_IDENTIFIER_COLUMNS,
];

/** The header a dataset file of this tier must have: the requested fields, in catalogue order. */
export function expectedHeader(
  dataset: Dataset,
  fields: string[],
  tier: Exclude<Tier, 'aggregate'>,
): string[] {
  const out: string[] = [];
  for (const f of CATALOGUE_FIELDS[dataset]) {
    if (!fields.includes(f)) continue;
    if (f in PERSON_COLUMNS[tier]) {
      const name = PERSON_COLUMNS[tier][f];
      if (name) out.push(name);
    } else out.push(f);
  }
  return out;
}

const DIGIT_RUN = /(?<![0-9A-Za-z])\d{3}[ -]?\d{3}[ -]?\d{4}(?![0-9A-Za-z])/g;
/** Ten digits standing alone somewhere in a line: the cheap test before the Modulus 11 one. */
export const MAYBE_NHS_NUMBER = /(?<![0-9A-Za-z])\d{3}[ -]?\d{3}[ -]?\d{4}(?![0-9A-Za-z])/;

/**
 * Whether a value holds a raw NHS number: ten digits (as typed, `943 476 5919` too) standing
 * alone (not inside a longer number or a hex key) that pass Modulus 11.
 */
export function holdsNhsNumber(value: string): boolean {
  if (value.length < 10 || !MAYBE_NHS_NUMBER.test(value)) return false;
  for (const m of value.matchAll(DIGIT_RUN)) if (isValidNhsNumber(m[0].replace(/[ -]/g, ''))) return true;
  return false;
}

/**
 * What an aggregate cell may show (SPEC §5 step 5): `*`, or a multiple of 5 of at least 10. An
 * empty cell is `*` like 1–7 (a `0` would make `*` mean "someone is here").
 */
export function aggregateCellProblem(value: string): string | undefined {
  if (value === '*') return undefined;
  if (!/^\d+$/.test(value)) return 'a count that is neither * nor a whole number';
  const n = Number(value);
  if (n === 0) return 'an empty cell shown as 0, not *';
  if (n >= 1 && n <= 7) return 'a count of 1-7 shown';
  if (n % 5 !== 0) return 'a count not rounded to 5';
  return undefined;
}

/**
 * Secondary suppression (SPEC §5 step 5): in any group of two or more cells differing in one
 * dimension only, a single `*` could be recovered from the group's total. Returns the first such
 * group's dimension, if any. `cells` are the dimension values and whether the cell is suppressed.
 */
export function loneSuppressedCell(cells: { key: string[]; suppressed: boolean }[]): number | undefined {
  const dims = cells[0]?.key.length ?? 0;
  for (let d = 0; d < Math.max(dims, 1); d++) {
    const groups = new Map<string, { n: number; stars: number }>();
    for (const c of cells) {
      const rest = JSON.stringify(c.key.filter((_, j) => j !== d));
      const g = groups.get(rest) ?? { n: 0, stars: 0 };
      g.n++;
      if (c.suppressed) g.stars++;
      groups.set(rest, g);
    }
    for (const g of groups.values()) if (g.n >= 2 && g.stars === 1) return d;
  }
  return undefined;
}

/**
 * The table must hold every cell of the cross-product of its dimensions' values (#27): each key
 * once, and as many cells as the product of the numbers of distinct values per dimension (which,
 * with no key repeated, means every combination is there). Returns what is wrong, if anything.
 */
export function crossProductProblem(keys: string[][]): string | undefined {
  const dims = keys[0]?.length ?? 0;
  const seen = new Set<string>();
  const values = Array.from({ length: dims }, () => new Set<string>());
  for (const k of keys) {
    const s = JSON.stringify(k);
    if (seen.has(s)) return 'a cell is listed twice';
    seen.add(s);
    k.forEach((v, i) => values[i].add(v));
  }
  const product = values.reduce((n, v) => n * v.size, 1);
  if (keys.length !== product)
    return `${keys.length} cells, not the ${product} of the dimensions' cross-product (an empty cell left out)`;
  return undefined;
}

/** A full UK postcode (outward and inward code): never in a pseudonymised or anonymised file. */
export const FULL_POSTCODE = /^[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}$/i;

/**
 * What a postcode column of each tier may hold beyond an empty cell (SPEC §5's tier table; probe
 * 33): pseudonymised, the district (outward code) or `unknown` — never a sector or more;
 * anonymised, the postcode area (its letters), a region, `unknown` or `*` — never a district.
 */
const OUTWARD_CODE = /^[A-Z]{1,2}[0-9][A-Z0-9]?$/;
const POSTCODE_AREA = /^[A-Z]{1,2}$/;
const AREA_REGIONS = new Set(Object.values(POSTCODE_AREA_REGION));
export function postcodeValueProblem(column: string, value: string): string | undefined {
  if (value === '' || value === 'unknown') return undefined;
  if (column === 'postcode_district')
    return OUTWARD_CODE.test(value) ? undefined : 'postcode_district is not an outward code';
  if (column === 'area')
    return value === '*' || POSTCODE_AREA.test(value) || AREA_REGIONS.has(value)
      ? undefined
      : 'area is not a postcode area or region';
  return undefined;
}
/**
 * What a person column of the anonymised tier may hold beyond an empty cell (SPEC §5's tier table;
 * probe 42): `age_band` a band of the age ladder — five, ten or twenty years, starting at a multiple
 * of its width (`40-44`, `40-49`, `40-59`) — `unknown` or `*`, never an age, a year or a year and
 * month of birth; `ethnicity` an ethnic category (one letter), an ethnic group or `*`.
 */
const AGE_BAND = /^(\d{1,3})-(\d{1,3})$/;
const ETHNIC_GROUPS = new Set([...Object.values(ETHNIC_GROUP), 'Not stated']);
export function anonymisedValueProblem(column: string, value: string): string | undefined {
  if (value === '' || value === '*') return undefined;
  if (column === 'age_band') {
    if (value === 'unknown') return undefined;
    const m = AGE_BAND.exec(value);
    const lo = Number(m?.[1]);
    const width = Number(m?.[2]) - lo + 1;
    return m && [5, 10, 20].includes(width) && lo % width === 0 ? undefined : 'age_band is not an age band';
  }
  if (column === 'ethnicity')
    return /^[A-Z]$/.test(value) || ETHNIC_GROUPS.has(value)
      ? undefined
      : 'ethnicity is not an ethnic category or group';
  return undefined;
}
export const YEAR_MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;
/** A full date (or timestamp): in the identifiable and pseudonymised tiers only. */
export const FULL_DATE = /^\d{4}-\d{2}-\d{2}/;
/** A full date anywhere in a line (of an anonymised file, whose dates are years and months). */
export const FULL_DATE_IN_LINE = /(?<!\d)\d{4}-\d{2}-\d{2}/;

/**
 * Row order of a file without a person column (SPEC §5 step 5, #27): its rows must carry no
 * person grouping. Two signs of one, read from the file alone in fixed memory:
 * - rows next to each other with the same person-level values (date of birth, postcode, sex, …,
 *   hashed into 65,536 buckets) more often than a random order of the same rows gives
 *   (E = Σ c(c−1) / N over the buckets' counts; Poisson margin of 6 σ);
 * - event dates rising from one row to the next more often than falling (a person's rows sorted by
 *   date), beyond 6 σ of a fair coin.
 * Each returns what is wrong, if anything. Rows of one person sorted together fail both by far.
 */
export class RowOrderCheck {
  private readonly buckets = new Uint32Array(1 << 16);
  private rows = 0;
  private prevBucket = -1;
  private same = 0;
  private prevDate: string | undefined;
  private rises = 0;
  private falls = 0;

  /** One row: its person-level values (undefined when the file has none) and its event date. */
  add(personValues: string | undefined, date: string | undefined): void {
    if (personValues !== undefined) {
      const b = fnv1a(personValues) & 0xffff;
      this.buckets[b]++;
      if (b === this.prevBucket) this.same++;
      this.prevBucket = b;
      this.rows++;
    }
    if (date !== undefined && date !== '') {
      if (this.prevDate !== undefined) {
        if (date > this.prevDate) this.rises++;
        else if (date < this.prevDate) this.falls++;
      }
      this.prevDate = date;
    }
  }

  problem(): string | undefined {
    if (this.rows > 1) {
      let pairs = 0;
      for (const c of this.buckets) pairs += c * (c - 1);
      const chance = pairs / this.rows;
      if (this.same > chance + 6 * Math.sqrt(chance) + 10)
        return `rows with the same person values are next to each other ${this.same} times, where a random order gives about ${Math.round(chance)}: the rows are grouped by person`;
    }
    const n = this.rises + this.falls;
    if (n > 0 && this.rises - this.falls > 6 * Math.sqrt(n) + 10)
      return `event dates rise from row to row ${this.rises} times and fall ${this.falls} times: the rows are sorted by person and date`;
    return undefined;
  }
}

/** FNV-1a, 32 bits, of a string's UTF-16 code units (a bucket, not a secret). */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
/** An anonymised file's event date: year and month, or year, or `*` (kᵐ-anonymity's period ladder). */
export const ANON_PERIOD = /^(\d{4}-(0[1-9]|1[0-2])|\d{4}|\*)$/;

/**
 * The verifier's own reading of kᵐ-anonymity's items (SPEC §5 step 5): per dataset file, the
 * columns a row's item is made of, as the file shows them (a location column too: it is an event's,
 * not a person's). Persons are joined across the files by their token; their class is the person
 * quasi-identifier columns (`PERSON_QUASI_IDENTIFIER_COLUMNS`) the files show of them.
 */
/**
 * Event columns the anonymised tier shows only as `*`: neither a kᵐ-anonymity item nor generalised
 * (probe 27: an observation's value singled out every person of a class).
 */
export const ANONYMISED_WITHHELD: ReadonlySet<string> = new Set(['value', 'linkage_step']);

export const EVENT_ITEM_COLUMNS: Record<string, readonly string[]> = {
  'gp.csv.gz': ['event_type', 'code_system', 'code', 'event_date'],
  'hes.csv.gz': ['admission_date', 'diagnosis_icd10', 'procedure_opcs4', 'provider_code'],
  'social_care.csv.gz': ['la_code', 'service_type', 'start_date', 'end_date'],
};

/**
 * The fields that could otherwise carry free text, and what a released value of each may be (SPEC
 * §3's code systems, §5 "never free text"), written here from the SPEC rather than taken from the
 * loaders: as held (identifiable, pseudonymised tiers) a code or empty; in the anonymised tier also
 * its generalisation (ICD-10 three characters or chapter numeral, OPCS-4 three characters or its
 * chapter letter) or `*`. The anonymised tier's location columns may hold a region name (a ladder
 * rung), and are checked as codes in the other tiers only.
 */
export const CODE_COLUMNS: Record<string, { code: RegExp; generalised?: RegExp }> = {
  diagnosis_icd10: { code: /^[A-Z][0-9]{2}([.]?[0-9A-Z]{1,2})?$/, generalised: /^([IVX]+|\*)$/ },
  procedure_opcs4: { code: /^[A-Z][0-9]{2}[.]?[0-9]$/, generalised: /^([A-Z]([0-9]{2})?|\*)$/ },
  provider_code: { code: /^[A-Z0-9]{3,5}$/ },
  la_code: { code: /^[EWSN][0-9]{8}$/ },
  // An observation's value: a number as written (behind an apostrophe where it starts with a sign,
  // spreadsheetSafe) and at most a unit code — no space inside it, no `{…}` annotation but eGFR's
  // (docs/PRACTICES-AND-EXTRACTS.md; an outsider's probe, 2026-12-07, had a name in a unit).
  value: {
    code: /^'?[-+]?(\d+(\.\d+)?|\.\d+)(e[-+]?\d+)?( ([A-Za-z0-9%./*^[\]_-]|\{1\.73_m2\}){1,20})?$/,
    // Withheld in the anonymised tier (ANONYMISED_WITHHELD).
    generalised: /^\*$/,
  },
  service_type: {
    code: /^(home_care|residential_care|nursing_care|day_care|reablement|direct_payment|supported_living|equipment_and_adaptations|carer_support|meals|child_in_need|child_protection_plan|looked_after_child|short_breaks|other)$/,
    generalised: /^\*$/,
  },
};

/**
 * The regions a location column of the anonymised tier may be generalised to (its ladder's middle
 * rung; the reference data the ladder names, location-qi.ts) and `unknown`.
 */
const REGIONS = new Set([
  'unknown',
  ...Object.values(PROVIDER_REGION),
  ...Object.values(LA_REGION),
  ...Object.values(LA_PREFIX_REGION),
]);
const LOCATION_COLUMNS = new Set(['provider_code', 'la_code']);

/** Whether `value` may stand in released column `column` of a file of `tier` (see `CODE_COLUMNS`). */
export function codeValueOk(column: string, value: string, tier: string): boolean {
  const rule = CODE_COLUMNS[column];
  if (!rule || value === '' || rule.code.test(value)) return true;
  if (tier !== 'anonymised') return false;
  if (LOCATION_COLUMNS.has(column)) return value === '*' || REGIONS.has(value);
  return rule.generalised ? rule.generalised.test(value) : false;
}
