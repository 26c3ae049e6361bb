import { BIDS_ERRORS } from '@custodian/bids';
import { MAX_FORM_FIELD, PATTERNS } from './patterns';
import { all, commaList, FormBody, formErrors, isCalendarDate, str } from './form';
import { CatalogAnswer, columnMapping, TIERS } from './columns';
import type { Bid } from './bids-api';

/** The request form's limits, shown on the fields (the API's CreateBidDto says the same). */
export const LIMITS = { title: 200, text: 20_000, reference: 200, duration: 36 } as const;

export const LEGAL_BASES: [string, string][] = [
  ['consent', 'Consent (attach the consenting cohort)'],
  ['s251', 'Section 251 support'],
  ['public_health_emergency', 'Public health emergency (civil emergency notice)'],
  ['statutory', 'Statutory'],
  ['none', 'None (anonymised or aggregate data only)'],
];
const TIER_TEXT: Record<string, string> = {
  identifiable: 'Identifiable: NHS number, date of birth and postcode as held',
  pseudonymised: 'Pseudonymised: pseudo ID, year and month of birth, postcode district',
  anonymised: 'Anonymised: random person token, age band, area; k-anonymity applied',
  aggregate: 'Aggregate: counts of patients by the dimensions you choose',
};

export type RequestFormErrors = ReturnType<typeof formErrors>;

/** The form's values (as the browser sent them), less the CSRF token. */
export const formValues = (body: FormBody): Record<string, unknown> =>
  Object.fromEntries(Object.entries(body).filter(([k]) => k !== '_csrf'));

/** A bid's content as the form's values: every field of the create form, pre-filled for editing. */
export function bidToFormValues(bid: Bid): Record<string, unknown> {
  const values: Record<string, unknown> = {
    title: bid.title,
    purpose: bid.purpose,
    publicBenefit: bid.publicBenefit,
    requestedTier: bid.requestedTier,
    legalBasis: bid.legalBasis,
    legalBasisReference: bid.legalBasisReference ?? '',
    ...cohortValues(bid.cohort),
    durationMonths: String(bid.durationMonths),
    dimensions: bid.aggregation?.dimensions ?? [],
  };
  for (const d of bid.datasets) values[`fields_${d.dataset}`] = d.fields;
  for (const k of Object.keys(values)) if (typeof values[k] === 'number') values[k] = String(values[k]);
  return values;
}

/**
 * Reads the request form into the body of POST /api/bids (or PATCH /api/bids/:id, which gets every
 * key, so that a cleared box clears the restriction). The checks here only spare the user a round
 * trip; the API's answer has the last word (see apiErrorsToFields).
 */
export function parseRequestForm(
  body: FormBody,
  catalog: CatalogAnswer,
): { dto: Record<string, unknown>; errors: RequestFormErrors } {
  const errors = formErrors();
  const title = str(body.title);
  const purpose = str(body.purpose);
  const publicBenefit = str(body.publicBenefit);
  const requestedTier = str(body.requestedTier);
  const legalBasis = str(body.legalBasis);
  if (title.length < 3) errors.add('title', 'Enter a title of at least 3 characters');
  else if (title.length > LIMITS.title)
    errors.add('title', `Title must be ${LIMITS.title} characters or fewer (you have ${title.length})`);
  if (purpose.length < 10) errors.add('purpose', 'Enter the purpose, in at least 10 characters');
  if (publicBenefit.length < 10)
    errors.add('publicBenefit', 'Enter the public benefit, in at least 10 characters');
  if (!(TIERS as readonly string[]).includes(requestedTier))
    errors.add('requestedTier', 'Select the tier of data', 'requestedTier');
  if (!LEGAL_BASES.some(([b]) => b === legalBasis))
    errors.add('legalBasis', 'Select the legal basis', 'legalBasis');
  const reference = str(body.legalBasisReference);
  if (reference && (reference.length < 3 || reference.length > LIMITS.reference))
    errors.add('legalBasisReference', `Enter a reference of 3 to ${LIMITS.reference} characters`);
  const datasets = catalog.datasets
    .map((d) => ({ dataset: d.id, fields: all(body[`fields_${d.id}`]) }))
    .filter((d) => d.fields.length > 0);
  if (!datasets.length)
    errors.add(
      'datasets',
      'Select at least one field of at least one dataset',
      `fields-${catalog.datasets[0]?.id}`,
    );
  const dimensions = all(body.dimensions);
  if (requestedTier === 'aggregate' && !dimensions.length)
    errors.add('dimensions', 'Select at least one dimension to count by', 'dimensions');
  const cohort = readCohort(body, errors);
  const duration = str(body.durationMonths);
  if (!PATTERNS.durationMonths.test(duration) || Number(duration) < 1 || Number(duration) > LIMITS.duration)
    errors.add('durationMonths', `Enter a duration from 1 to ${LIMITS.duration} months`);
  const dto: Record<string, unknown> = {
    title,
    purpose,
    publicBenefit,
    legalBasis,
    requestedTier,
    legalBasisReference: reference || null,
    datasets,
    cohort,
    // With a record-level tier, ticked dimensions are the counts the panel may grant instead
    // (SPEC §4's example states both); none ticked is none.
    aggregation: dimensions.length ? { dimensions } : null,
    durationMonths: Number(duration),
  };
  return { dto, errors };
}

/** The body of POST /api/bids: absent rather than null for what was left empty. */
export const forCreate = (dto: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(dto).filter(([, v]) => v !== null));

/** The form's field for each property of the API's request body (for its class-validator messages). */
const FIELD_OF: Record<string, string> = {
  title: 'title',
  purpose: 'purpose',
  publicBenefit: 'publicBenefit',
  legalBasis: 'legalBasis',
  legalBasisReference: 'legalBasisReference',
  requestedTier: 'requestedTier',
  durationMonths: 'durationMonths',
  'cohort.practices': 'practices',
  'cohort.postcodeAreas': 'postcodeAreas',
  'cohort.conditionCodes': 'conditionCodes',
  'cohort.eventsFrom': 'eventsFrom',
  'cohort.eventsTo': 'eventsTo',
  'cohort.ageMin': 'ageMin',
  'cohort.ageMax': 'ageMax',
  'aggregation.dimensions': 'dimensions',
  aggregation: 'dimensions',
};

export interface ApiErrorBody {
  message?: string;
  code?: string;
  details?: Record<string, unknown>;
}

/**
 * The API's refusal of a request body, placed on the field it concerns in words a researcher uses
 * (the error-summary pattern), never as raw API text on an unrelated field.
 */
export function apiErrorsToFields(
  body: ApiErrorBody,
  errors: RequestFormErrors,
  catalog: CatalogAnswer,
): void {
  const message = body.message ?? '';
  const firstDataset = `fields-${catalog.datasets[0]?.id}`;
  switch (body.code) {
    case BIDS_ERRORS.INVALID_COHORT:
      if (/ageMin/.test(message))
        errors.add('ageMax', 'The oldest age must be the same as or above the youngest age');
      else errors.add('eventsTo', 'The end date must be on or after the start date');
      return;
    case BIDS_ERRORS.DURATION_TOO_LONG: {
      const max = Number(body.details?.max) || 12;
      const kind = /for an? (\w+) organisation/.exec(message)?.[1];
      errors.add(
        'durationMonths',
        `Enter a duration of ${max} months or fewer${kind ? `: your organisation is ${kind}` : ''}`,
      );
      return;
    }
    case BIDS_ERRORS.TIER_LEGAL_BASIS_MISMATCH:
      errors.add(
        'legalBasis',
        'This legal basis does not allow the tier you chose: choose another legal basis, or a less identifying tier',
        'legalBasis',
      );
      return;
    case BIDS_ERRORS.LEGAL_BASIS_REFERENCE_REQUIRED:
      errors.add(
        'legalBasisReference',
        'Enter the reference for this legal basis (the CAG reference, or the notice)',
      );
      return;
    case BIDS_ERRORS.UNKNOWN_DATASET:
    case BIDS_ERRORS.UNKNOWN_FIELD:
    case BIDS_ERRORS.DUPLICATE_DATASET:
      errors.add('datasets', 'Select fields offered by the catalogue', firstDataset);
      return;
    case BIDS_ERRORS.AGGREGATION_REQUIRED:
    case BIDS_ERRORS.UNKNOWN_DIMENSION:
      errors.add('dimensions', 'Select dimensions to count by, from those offered', 'dimensions');
      return;
  }
  // class-validator's messages, "; "-joined, each starting with the property's path.
  let placed = false;
  for (const part of message.split('; ')) {
    const path = /^([\w.]+?)(?:\.\d+)? /.exec(part)?.[1] ?? '';
    const field = FIELD_OF[path] ?? (path.startsWith('datasets') ? 'datasets' : undefined);
    if (!field) continue;
    placed = true;
    if (field === 'title' && /shorter/.test(part))
      errors.add('title', `Title must be ${LIMITS.title} characters or fewer`);
    else if (field === 'datasets')
      errors.add('datasets', 'Select fields offered by the catalogue', firstDataset);
    else errors.add(field, `Check this answer: ${part.replace(/^[\w.]+ /, '')}`);
  }
  if (!placed) errors.add('form', 'The request was not accepted: check your answers and try again', 'title');
}

/** What the request form's template needs, for a new request or an edit. */
export function requestFormContext(
  catalog: CatalogAnswer,
  values: Record<string, unknown>,
  errors: RequestFormErrors,
) {
  const chosen = (name: string) => all(values[name]);
  return {
    values,
    limits: LIMITS,
    errors: errors.list,
    fieldErrors: errors.byField,
    tierItems: TIERS.map((t) => ({ value: t, text: TIER_TEXT[t], checked: values.requestedTier === t })),
    legalBasisItems: LEGAL_BASES.map(([value, text]) => ({
      value,
      text,
      checked: values.legalBasis === value,
    })),
    datasetItems: catalog.datasets.map((d) => ({
      id: d.id,
      title: d.title,
      description: d.description,
      items: d.fields.map((f) => ({
        value: f.name,
        text: f.name,
        hint: { text: `${f.description} (${f.classification.replace(/_/g, ' ')})` },
        checked: chosen(`fields_${d.id}`).includes(f.name),
      })),
    })),
    dimensionItems: catalog.dimensions.map((d) => ({
      value: d.name,
      text: d.name,
      hint: { text: d.description },
      checked: chosen('dimensions').includes(d.name),
    })),
    mappingJson: JSON.stringify({
      mapping: columnMapping(catalog),
      titles: Object.fromEntries(catalog.datasets.map((d) => [d.id, d.title])),
    }),
  };
}

/** The cohort's fields (`_cohort-fields.njk`) as the API's cohort, errors said by their box; empty boxes are no restriction. */
export function readCohort(body: FormBody, errors: ReturnType<typeof formErrors>): Record<string, unknown> {
  const cohort: Record<string, unknown> = {};
  const practices = commaList(body.practices).map((p) => p.toUpperCase());
  if (practices.some((p) => !PATTERNS.odsCode.test(p)))
    errors.add('practices', 'Enter ODS codes as a letter and five digits, like A81001');
  else if (practices.length) cohort.practices = [...new Set(practices)];
  const areas = commaList(body.postcodeAreas).map((p) => p.toUpperCase());
  if (areas.some((a) => !PATTERNS.postcodeArea.test(a)))
    errors.add('postcodeAreas', 'Enter postcode areas as 1 or 2 letters, like LS');
  else if (areas.length) cohort.postcodeAreas = [...new Set(areas)];
  const codes = commaList(body.conditionCodes);
  if (codes.some((c) => !PATTERNS.clinicalCode.test(c)))
    errors.add('conditionCodes', 'Enter clinical codes of letters, digits and dots');
  else if (codes.length) cohort.conditionCodes = [...new Set(codes)];
  for (const k of ['eventsFrom', 'eventsTo'] as const) {
    const v = str(body[k]);
    // A real day, as the API checks it (a pattern alone let 2026-02-30 through to the API).
    if (v && !isCalendarDate(v)) errors.add(k, 'Enter a real date as YYYY-MM-DD, for example 2010-01-31');
    else if (v) cohort[k] = v;
  }
  for (const k of ['ageMin', 'ageMax'] as const) {
    const v = str(body[k]);
    if (v && (!PATTERNS.age.test(v) || Number(v) > 130))
      errors.add(k, 'Enter an age in whole years, from 0 to 130');
    else if (v) cohort[k] = Number(v);
  }
  return cohort;
}

/** A cohort as the cohort fields' values. */
export function cohortValues(cohort: unknown): Record<string, unknown> {
  const c = (cohort ?? {}) as Record<string, unknown>;
  const list = (k: string) => (Array.isArray(c[k]) ? (c[k] as string[]).join(', ') : '');
  return {
    practices: list('practices'),
    postcodeAreas: list('postcodeAreas'),
    conditionCodes: list('conditionCodes'),
    eventsFrom: c.eventsFrom ?? '',
    eventsTo: c.eventsTo ?? '',
    ageMin: c.ageMin ?? '',
    ageMax: c.ageMax ?? '',
  };
}

/**
 * Whether a cohort fits the form's boxes (a field of at most MAX_FORM_FIELD characters): one of
 * thousands of practices does not, and sent back whole the amendment form was refused as too large
 * (review-25); it is then shown, not edited.
 */
export const cohortEditable = (cohort: unknown): boolean =>
  Object.values(cohortValues(cohort)).every((v) => String(v).length <= MAX_FORM_FIELD);

/** Whether two cohorts restrict alike (lists as sets, empty lists and absent keys as no restriction). */
export function sameCohort(a: unknown, b: unknown): boolean {
  const norm = (c: unknown) =>
    JSON.stringify(
      Object.entries((c ?? {}) as Record<string, unknown>)
        .filter(([, v]) => v !== null && v !== undefined && v !== '' && !(Array.isArray(v) && !v.length))
        .map(([k, v]) => [k, Array.isArray(v) ? [...new Set(v.map(String))].sort() : String(v)])
        .sort(([x], [y]) => String(x).localeCompare(String(y))),
    );
  return norm(a) === norm(b);
}
