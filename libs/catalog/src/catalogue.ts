/**
 * The dataset catalogue of SPEC §4 in code: the datasets, their fields in catalogue order, and how
 * the release engine treats each field. The published catalogue (`catalog_fields`, seeded by
 * migration, GET /api/datasets) holds the same fields; test/release.e2e-spec.ts keeps them equal.
 * The one definition: the release engine and its verifier read it here, the portal its tier columns.
 */
export const DATASETS = ['gp', 'hes', 'social_care'] as const;
export type Dataset = (typeof DATASETS)[number];

/** Fields that describe the person rather than one event, in catalogue order (GP has them all). */
const PERSON = ['nhs_number', 'date_of_birth', 'postcode', 'sex', 'ethnicity', 'practice_ods'] as const;
/** What a hospital or social-care row holds of its person. */
const SOURCE_PERSON = PERSON.slice(0, 4);

export const CATALOGUE_FIELDS: Record<Dataset, readonly string[]> = {
  gp: [...PERSON, 'event_type', 'code_system', 'code', 'event_date', 'value'],
  hes: [
    ...SOURCE_PERSON,
    'epikey',
    'admission_date',
    'diagnosis_icd10',
    'procedure_opcs4',
    'provider_code',
    'linkage_step',
  ],
  social_care: [...SOURCE_PERSON, 'la_code', 'service_type', 'start_date', 'end_date', 'linkage_step'],
};

/** Fields that describe the person rather than one event (the rest make the file one row per event). */
export const PERSON_FIELDS: ReadonlySet<string> = new Set<string>(PERSON);

/**
 * Source row keys a file can carry (SPEC §5 "source row keys"): as held in the identifiable tier,
 * keyed per bid in the pseudonymised, replaced per release in the anonymised. (Social care's
 * PERSON_ID is held for the reload key only and offered in no tier.)
 */
export const SOURCE_ROW_KEY_FIELDS = new Set(['epikey']);

/** Event date fields, coarsened to year-month in the anonymised tier. */
export const DATE_FIELDS = new Set(['event_date', 'admission_date', 'start_date', 'end_date']);

export const AGGREGATE_DIMENSIONS = [
  'sex',
  'age_band',
  'ethnic_group',
  'postcode_area',
  'year',
  'code',
] as const;
export type AggregateDimension = (typeof AGGREGATE_DIMENSIONS)[number];

export const DATASET_FILE: Record<Dataset, string> = {
  gp: 'gp.csv.gz',
  hes: 'hes.csv.gz',
  social_care: 'social_care.csv.gz',
};
