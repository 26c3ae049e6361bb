/**
 * The code formats of the HES and social-care fields that could otherwise carry free text (SPEC §5:
 * "Source fields are codes … never free text"), checked at load (`source-formats.ts`). A value is
 * trimmed and upper-cased (keys keep their case) before the check; a blank is NULL (unknown) where
 * the field is optional. A row whose value fails is rejected with its row number and reason, never
 * the value. Patterns are PostgreSQL regular expressions, constants of this code base only (they
 * are written into the staging SQL, which runs as `CREATE TABLE … AS` and takes no parameters).
 */
export const CODE_FORMATS = {
  /**
   * HES EPIKEY and social care's PERSON_ID (the shape of any source row key): letters, digits, `-`,
   * `_`, a letter or digit first. PERSON_ID had only its length checked (an outsider loaded a
   * spreadsheet formula as one; the identifiable tier releases it as held).
   */
  epikey: '^[A-Za-z0-9][A-Za-z0-9_-]*$',
  /**
   * ICD-10 (DIAG_4_01): a letter, two digits, then optionally a dot and one or two letters or digits
   * (`I63`, `I639`, `I63.9`, HES's filler `R69X`, a fifth character `I639D`).
   */
  icd10: '^[A-Z][0-9]{2}([.]?[0-9A-Z]{1,2})?$',
  /** OPCS-4 (OPERTN_4_01): a letter and three digits, optionally a dot after the second (`W371`, `W37.1`). */
  opcs4: '^[A-Z][0-9]{2}[.]?[0-9]$',
  /** ODS organisation code (PROCODE): three to five letters or digits (`RR8`, `RR801`). */
  ods: '^[A-Z0-9]{3,5}$',
  /** ONS local authority code (LA_CODE): E, W, S or N and eight digits (`E08000035`). */
  onsLa: '^[EWSN][0-9]{8}$',
} as const;

/**
 * HES's own markers in OPERTN_4_01, `-` (no operation performed) and `&` (not known): stored as
 * blank (NULL), not as a value that a spreadsheet would read as a formula.
 */
export const OPCS4_NONE_MARKERS = ['-', '&'] as const;

/**
 * The social-care service types a SERVICE_TYPE may name (configuration: the one list). A value is
 * matched case-insensitively with runs of spaces, `_` and `-` read as one `_` (`Home Care`,
 * `home care` and `home_care` are all `home_care`) and stored as the code. It holds what the
 * synthetic generator (`libs/synth`) writes, adult and children's services, and `other`.
 */
export const SERVICE_TYPES = [
  'home_care',
  'residential_care',
  'nursing_care',
  'day_care',
  'reablement',
  'direct_payment',
  'supported_living',
  'equipment_and_adaptations',
  'carer_support',
  'meals',
  'child_in_need',
  'child_protection_plan',
  'looked_after_child',
  'short_breaks',
  'other',
] as const;
export type ServiceType = (typeof SERVICE_TYPES)[number];

/** The service-type code of a SERVICE_TYPE value, or undefined (TypeScript twin of `serviceTypeSql`). */
export function serviceTypeOf(value: string): ServiceType | undefined {
  const key = value
    .trim()
    .replace(/[\s_-]+/g, '_')
    .toLowerCase();
  return (SERVICE_TYPES as readonly string[]).includes(key) ? (key as ServiceType) : undefined;
}

/** SQL: the service-type code of the text expression `v` (already trimmed), NULL when not listed. */
export function serviceTypeSql(v: string): string {
  for (const t of SERVICE_TYPES) if (!/^[a-z]+(_[a-z]+)*$/.test(t)) throw new Error('bad service type code');
  const list = SERVICE_TYPES.map((t) => `'${t}'`).join(', ');
  const key = `lower(regexp_replace(${v}, '[[:space:]_-]+', '_', 'g'))`;
  return `CASE WHEN ${key} IN (${list}) THEN ${key} END`;
}
