import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Secondary sources (HES admitted patient care, social care) with their linkage result, and the
 * objection register (history + current state). Rows of every source keep their NHS number, so
 * objections apply to them whether they are linked or not.
 */
export class SourcesAndObjections1764000002000 implements MigrationInterface {
  name = 'SourcesAndObjections1764000002000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE source_loads (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        kind varchar(12) NOT NULL CHECK (kind IN ('hes','social_care')),
        uploaded_by uuid REFERENCES users(id),
        created_at timestamptz NOT NULL DEFAULT now(),
        report jsonb NOT NULL DEFAULT '{}'
      )`);
    await q.query(`
      CREATE TABLE hes_episodes (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        epikey varchar(20) NOT NULL,
        nhs_number char(10),
        birth_date date,
        sex char(1) NOT NULL CHECK (sex IN ('M','F','U')),
        postcode varchar(8),
        admission_date date NOT NULL,
        diagnosis_icd10 varchar(8),
        procedure_opcs4 varchar(8),
        provider_code varchar(8),
        load_id uuid NOT NULL REFERENCES source_loads(id),
        patient_id bigint REFERENCES patients(id) ON DELETE SET NULL,
        linkage_step smallint CHECK (linkage_step BETWEEN 1 AND 8),
        CONSTRAINT hes_episodes_epikey_unique UNIQUE (epikey)
      )`);
    await q.query(`CREATE INDEX hes_episodes_nhs_idx ON hes_episodes (nhs_number)`);
    await q.query(`CREATE INDEX hes_episodes_patient_idx ON hes_episodes (patient_id)`);
    await q.query(`CREATE INDEX hes_episodes_unlinked_idx ON hes_episodes (id) WHERE patient_id IS NULL`);
    await q.query(`
      CREATE TABLE social_care_records (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        la_code varchar(9) NOT NULL,
        person_id varchar(40) NOT NULL,
        nhs_number char(10),
        birth_date date,
        sex char(1) NOT NULL CHECK (sex IN ('M','F','U')),
        postcode varchar(8),
        service_type varchar(60) NOT NULL,
        start_date date NOT NULL,
        end_date date,
        load_id uuid NOT NULL REFERENCES source_loads(id),
        patient_id bigint REFERENCES patients(id) ON DELETE SET NULL,
        linkage_step smallint CHECK (linkage_step BETWEEN 1 AND 8),
        CONSTRAINT social_care_records_key_unique UNIQUE (la_code, person_id, start_date)
      )`);
    await q.query(`CREATE INDEX social_care_nhs_idx ON social_care_records (nhs_number)`);
    await q.query(`CREATE INDEX social_care_patient_idx ON social_care_records (patient_id)`);
    await q.query(
      `CREATE INDEX social_care_unlinked_idx ON social_care_records (id) WHERE patient_id IS NULL`,
    );

    await q.query(`
      CREATE TABLE objection_events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        nhs_number char(10) NOT NULL,
        type varchar(5) NOT NULL CHECK (type IN ('type1','type2')),
        action varchar(8) NOT NULL CHECK (action IN ('register','withdraw')),
        effective_on date NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now(),
        source varchar(8) NOT NULL CHECK (source IN ('extract','api')),
        source_ref varchar(64),
        practice_ods char(6),
        recorded_by uuid
      )`);
    await q.query(
      `CREATE INDEX objection_events_key_idx ON objection_events (nhs_number, type, effective_on DESC, recorded_at DESC)`,
    );
    await q.query(`CREATE INDEX objection_events_recorded_idx ON objection_events (recorded_at)`);
    await q.query(`
      CREATE TABLE objection_register (
        nhs_number char(10) NOT NULL,
        type varchar(5) NOT NULL CHECK (type IN ('type1','type2')),
        active boolean NOT NULL,
        effective_on date NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (nhs_number, type)
      )`);
    // The register as it stood at a moment: per NHS number and type, the entry with the latest
    // effective date (then the latest recorded) among those recorded by then decides.
    await q.query(`
      CREATE FUNCTION objections_as_of(at_time timestamptz)
      RETURNS TABLE (nhs_number char(10), type varchar(5), effective_on date)
      LANGUAGE sql STABLE AS $$
        SELECT d.nhs_number, d.type, d.effective_on FROM (
          SELECT DISTINCT ON (e.nhs_number, e.type) e.nhs_number, e.type, e.action, e.effective_on
            FROM objection_events e
           WHERE e.recorded_at <= at_time
           ORDER BY e.nhs_number, e.type, e.effective_on DESC, e.recorded_at DESC, e.id DESC
        ) d WHERE d.action = 'register'
      $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION objections_as_of(timestamptz)`);
    await q.query(
      `DROP TABLE objection_register, objection_events, social_care_records, hes_episodes, source_loads`,
    );
  }
}
