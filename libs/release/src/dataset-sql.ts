import { HES_EPISODES_SOURCE, SOCIAL_CARE_SOURCE } from '@custodian/linkage';
import { GP_EVENTS_SOURCE } from '@custodian/practices';
import type { Dataset } from '@custodian/catalog';
import { ISO_DATE } from './release-spec';

interface DatasetSql {
  table: string;
  /** Rows of the dataset joined to their person; `x` is the dataset row. */
  from: string;
  /**
   * The same rows found person by person (`rp` drives index lookups by patient id, and by NHS
   * number for unlinked source rows): for a few persons — a small cohort, or a shard holding a
   * small share of them — so a shard reads its own persons' rows instead of scanning the table
   * (issue #22). The same rows as `from`.
   */
  lookupFrom: string;
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

/**
 * `sourceFrom` person by person: lateral index lookups driven by `rp` (`OFFSET 0` keeps each
 * lookup a subquery; pulled up, the planner joins the whole table again).
 */
function sourceLookup(table: string): string {
  return `(SELECT s.*, r.nhs AS person_nhs FROM rp r
             CROSS JOIN LATERAL (SELECT * FROM ${table} l WHERE l.patient_id = r.patient_id OFFSET 0) s
           UNION ALL
           SELECT s.*, r.nhs FROM rp r
             CROSS JOIN LATERAL (SELECT * FROM ${table} l WHERE l.nhs_number = r.nhs AND l.patient_id IS NULL OFFSET 0) s) x
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
    table: GP_EVENTS_SOURCE,
    from: `${GP_EVENTS_SOURCE} x JOIN rp ON rp.patient_id = x.patient_id`,
    lookupFrom: `rp CROSS JOIN LATERAL (SELECT * FROM ${GP_EVENTS_SOURCE} l WHERE l.patient_id = rp.patient_id OFFSET 0) x`,
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
    table: HES_EPISODES_SOURCE,
    from: sourceFrom(HES_EPISODES_SOURCE),
    lookupFrom: sourceLookup(HES_EPISODES_SOURCE),
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
    table: SOCIAL_CARE_SOURCE,
    from: sourceFrom(SOCIAL_CARE_SOURCE),
    lookupFrom: sourceLookup(SOCIAL_CARE_SOURCE),
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
