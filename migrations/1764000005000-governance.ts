import { MigrationInterface, QueryRunner } from 'typeorm';

type Classification = 'direct_identifier' | 'quasi_identifier' | 'clinical' | 'administrative';

/** The dataset catalogue of SPEC §4, as seed rows (the catalogue is data, not constants). */
const DATASETS: { id: string; title: string; description: string }[] = [
  {
    id: 'gp',
    title: 'GP records',
    description: 'Diagnoses, treatments and observations extracted from GP practice systems.',
  },
  {
    id: 'hes',
    title: 'Hospital Episode Statistics (admitted patient care)',
    description: 'Hospital admissions with diagnoses and procedures, linked to GP patients.',
  },
  {
    id: 'social_care',
    title: 'Social care',
    description: 'Local-authority social-care services, linked to GP patients.',
  },
];

const COMMON: [string, Classification, string][] = [
  [
    'nhs_number',
    'direct_identifier',
    'NHS number (10 digits). Pseudonymised or tokenised below the identifiable tier.',
  ],
  [
    'date_of_birth',
    'quasi_identifier',
    'Date of birth. Year and month when pseudonymised; age band when anonymised.',
  ],
  ['postcode', 'quasi_identifier', 'Home postcode. District when pseudonymised; area when anonymised.'],
  ['sex', 'quasi_identifier', 'Sex: M, F or U (not known / not specified).'],
];

const FIELDS: Record<string, [string, Classification, string][]> = {
  gp: [
    ...COMMON,
    [
      'ethnicity',
      'quasi_identifier',
      'Ethnic category (NHS data dictionary code A–Z); ethnic group when anonymised.',
    ],
    ['practice_ods', 'administrative', 'ODS code of the registered GP practice.'],
    ['event_type', 'clinical', 'Kind of event: condition, procedure, medication or observation.'],
    ['code_system', 'clinical', 'Coding system of the event code: snomed or readv2.'],
    ['code', 'clinical', 'Clinical code (SNOMED CT or Read v2).'],
    ['event_date', 'clinical', 'Date of the event (onset, performed, effective or recorded).'],
    ['value', 'clinical', 'Value of an observation, when recorded.'],
  ],
  hes: [
    ...COMMON,
    ['epikey', 'administrative', 'HES episode key.'],
    ['admission_date', 'clinical', 'Date of admission.'],
    ['diagnosis_icd10', 'clinical', 'Primary diagnosis (ICD-10, 4 characters).'],
    ['procedure_opcs4', 'clinical', 'Main procedure (OPCS-4, 4 characters).'],
    ['provider_code', 'administrative', 'Code of the provider (hospital trust).'],
    [
      'linkage_step',
      'administrative',
      'Step of the HES/ONS linkage algorithm that linked the row (1–8), or none.',
    ],
  ],
  social_care: [
    ...COMMON,
    ['la_code', 'administrative', 'Local authority code.'],
    ['service_type', 'clinical', 'Type of social-care service.'],
    ['start_date', 'clinical', 'Start of the service.'],
    ['end_date', 'clinical', 'End of the service, when ended.'],
    [
      'linkage_step',
      'administrative',
      'Step of the HES/ONS linkage algorithm that linked the row (1–8), or none.',
    ],
  ],
};

const DIMENSIONS: [string, string][] = [
  ['sex', 'Sex (M, F, U).'],
  ['age_band', 'Five-year age band at the release date, e.g. 40-44.'],
  ['ethnic_group', 'Ethnic group (the broad group of the ethnic category).'],
  ['postcode_area', 'Region derived from the postcode area.'],
  ['year', 'Calendar year of the event.'],
  ['code', 'Clinical code of the event.'],
];

const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * Governance: the dataset catalogue (seeded), bids and their history, panel votes, consent
 * cohorts, data sharing agreements, and the release lines of the public register.
 */
export class Governance1764000005000 implements MigrationInterface {
  name = 'Governance1764000005000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE catalog_datasets (
        id varchar(20) PRIMARY KEY,
        title varchar(200) NOT NULL,
        description text NOT NULL,
        position smallint NOT NULL
      )`);
    await q.query(`
      CREATE TABLE catalog_fields (
        dataset varchar(20) NOT NULL REFERENCES catalog_datasets(id),
        name varchar(40) NOT NULL,
        classification varchar(20) NOT NULL
          CHECK (classification IN ('direct_identifier','quasi_identifier','clinical','administrative')),
        description text NOT NULL,
        position smallint NOT NULL,
        PRIMARY KEY (dataset, name)
      )`);
    await q.query(`
      CREATE TABLE catalog_dimensions (
        name varchar(40) PRIMARY KEY,
        description text NOT NULL,
        position smallint NOT NULL
      )`);
    await q.query(
      `INSERT INTO catalog_datasets (id, title, description, position) VALUES ${DATASETS.map(
        (d, i) => `(${lit(d.id)}, ${lit(d.title)}, ${lit(d.description)}, ${i + 1})`,
      ).join(', ')}`,
    );
    const fieldRows = Object.entries(FIELDS).flatMap(([dataset, fields]) =>
      fields.map(
        ([name, cls, desc], i) => `(${lit(dataset)}, ${lit(name)}, ${lit(cls)}, ${lit(desc)}, ${i + 1})`,
      ),
    );
    await q.query(
      `INSERT INTO catalog_fields (dataset, name, classification, description, position) VALUES ${fieldRows.join(', ')}`,
    );
    await q.query(
      `INSERT INTO catalog_dimensions (name, description, position) VALUES ${DIMENSIONS.map(
        ([n, d], i) => `(${lit(n)}, ${lit(d)}, ${i + 1})`,
      ).join(', ')}`,
    );

    await q.query(`
      CREATE TABLE bids (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        organisation_id uuid NOT NULL REFERENCES organisations(id),
        created_by uuid NOT NULL REFERENCES users(id),
        state varchar(12) NOT NULL DEFAULT 'draft' CHECK (state IN
          ('draft','submitted','returned','in_review','approved','rejected','active','expired','revoked','closed','withdrawn')),
        title varchar(200) NOT NULL,
        purpose text NOT NULL,
        public_benefit text NOT NULL,
        legal_basis varchar(24) NOT NULL
          CHECK (legal_basis IN ('consent','s251','public_health_emergency','statutory','none')),
        legal_basis_reference varchar(200),
        requested_tier varchar(16) NOT NULL
          CHECK (requested_tier IN ('identifiable','pseudonymised','anonymised','aggregate')),
        granted_tier varchar(16)
          CHECK (granted_tier IN ('identifiable','pseudonymised','anonymised','aggregate')),
        datasets jsonb NOT NULL,
        cohort jsonb NOT NULL DEFAULT '{}',
        aggregation jsonb,
        duration_months smallint NOT NULL CHECK (duration_months BETWEEN 1 AND 120),
        recipients uuid[] NOT NULL,
        conditions text[] NOT NULL DEFAULT '{}',
        review_round integer NOT NULL DEFAULT 0,
        cohort_size integer,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        submitted_at timestamptz,
        decided_at timestamptz,
        CONSTRAINT bids_none_basis CHECK (legal_basis <> 'none' OR requested_tier IN ('anonymised','aggregate')),
        CONSTRAINT bids_aggregation CHECK ((requested_tier = 'aggregate') = (aggregation IS NOT NULL))
      )`);
    await q.query(`CREATE INDEX bids_organisation_idx ON bids (organisation_id, created_at DESC)`);
    await q.query(`CREATE INDEX bids_state_idx ON bids (state, created_at DESC)`);

    await q.query(`
      CREATE TABLE bid_events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        bid_id uuid NOT NULL REFERENCES bids(id),
        at timestamptz NOT NULL DEFAULT clock_timestamp(),
        actor_id uuid REFERENCES users(id),
        actor_roles text[] NOT NULL DEFAULT '{}',
        action varchar(24) NOT NULL,
        from_state varchar(12),
        to_state varchar(12),
        remarks text,
        internal_notes text,
        internal boolean NOT NULL DEFAULT false,
        details jsonb NOT NULL DEFAULT '{}'
      )`);
    await q.query(`CREATE INDEX bid_events_bid_idx ON bid_events (bid_id, id)`);

    await q.query(`
      CREATE TABLE bid_votes (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        bid_id uuid NOT NULL REFERENCES bids(id),
        review_round integer NOT NULL,
        voter_id uuid NOT NULL REFERENCES users(id),
        decision varchar(8) NOT NULL CHECK (decision IN ('approve','reject','return')),
        tier varchar(16) CHECK (tier IN ('identifiable','pseudonymised','anonymised','aggregate')),
        conditions text[] NOT NULL DEFAULT '{}',
        conflict_of_interest boolean NOT NULL,
        interests text,
        recused boolean NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT bid_votes_one_per_member UNIQUE (bid_id, review_round, voter_id)
      )`);

    await q.query(`
      CREATE TABLE bid_cohort_members (
        bid_id uuid NOT NULL REFERENCES bids(id),
        nhs_number char(10) NOT NULL,
        PRIMARY KEY (bid_id, nhs_number)
      )`);

    await q.query(`CREATE SEQUENCE agreement_number_seq`);
    await q.query(`
      CREATE TABLE agreements (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        bid_id uuid NOT NULL REFERENCES bids(id),
        number integer NOT NULL,
        year smallint NOT NULL,
        version smallint NOT NULL DEFAULT 1,
        reference varchar(40) NOT NULL,
        status varchar(10) NOT NULL DEFAULT 'offered'
          CHECK (status IN ('offered','active','expired','revoked','closed')),
        tier varchar(16) NOT NULL,
        duration_months smallint NOT NULL,
        conditions text[] NOT NULL DEFAULT '{}',
        start_date date,
        end_date date,
        created_at timestamptz NOT NULL DEFAULT now(),
        accepted_at timestamptz,
        accepted_by uuid REFERENCES users(id),
        ended_at timestamptz,
        ended_by uuid REFERENCES users(id),
        end_reason text,
        CONSTRAINT agreements_reference_unique UNIQUE (reference),
        CONSTRAINT agreements_bid_version_unique UNIQUE (bid_id, version),
        CONSTRAINT agreements_dates CHECK ((start_date IS NULL) = (end_date IS NULL) AND (start_date IS NULL OR end_date > start_date)),
        CONSTRAINT agreements_active_dated CHECK (status NOT IN ('active','expired') OR start_date IS NOT NULL)
      )`);
    await q.query(`CREATE INDEX agreements_active_end_idx ON agreements (end_date) WHERE status = 'active'`);

    // The public register: one line per approved bid is derived from bids + agreements; one line per
    // release is a row here, inserted by the release module in the transaction that completes it.
    await q.query(`
      CREATE TABLE register_entries (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        kind varchar(10) NOT NULL CHECK (kind IN ('release')),
        bid_id uuid NOT NULL REFERENCES bids(id),
        release_id uuid,
        at timestamptz NOT NULL DEFAULT now(),
        tier varchar(16) NOT NULL,
        objections_applied boolean NOT NULL,
        objections_note text,
        details jsonb NOT NULL DEFAULT '{}'
      )`);
    await q.query(`CREATE INDEX register_entries_bid_idx ON register_entries (bid_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `DROP TABLE register_entries, agreements, bid_cohort_members, bid_votes, bid_events, bids, catalog_dimensions, catalog_fields, catalog_datasets`,
    );
    await q.query(`DROP SEQUENCE agreement_number_seq`);
  }
}
