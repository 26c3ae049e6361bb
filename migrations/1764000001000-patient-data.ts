import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The centre's copy of GP data: practices, patients and their coded events. Patient-level rows are
 * written with COPY / set-based SQL, never through the ORM.
 */
export class PatientData1764000001000 implements MigrationInterface {
  name = 'PatientData1764000001000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE practices (
        ods_code char(6) PRIMARY KEY CHECK (ods_code ~ '^[A-Z][0-9]{5}$'),
        name varchar(200) NOT NULL,
        rollout varchar(20) NOT NULL DEFAULT 'none' CHECK (rollout IN ('none','pilot','pilot_declined','national')),
        awareness_started_on date,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE patients (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        nhs_number char(10) NOT NULL,
        birth_date date NOT NULL,
        sex char(1) NOT NULL CHECK (sex IN ('M','F','U')),
        postcode varchar(8),
        ethnicity char(1) CHECK (ethnicity ~ '^[A-Z]$'),
        practice_ods char(6) NOT NULL REFERENCES practices(ods_code),
        source_id varchar(64) NOT NULL,
        extract_id uuid,
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT patients_nhs_number_unique UNIQUE (nhs_number)
      )`);
    await q.query(`CREATE INDEX patients_practice_idx ON patients (practice_ods, source_id)`);
    await q.query(`CREATE INDEX patients_demographics_idx ON patients (sex, birth_date)`);
    await q.query(`
      CREATE TABLE gp_events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        patient_id bigint NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
        resource_type varchar(12) NOT NULL CHECK (resource_type IN ('condition','procedure','medication','observation')),
        resource_id varchar(64) NOT NULL,
        code_system varchar(8) NOT NULL CHECK (code_system IN ('snomed','readv2')),
        code varchar(20) NOT NULL,
        event_date date NOT NULL,
        value varchar(64),
        extract_id uuid,
        CONSTRAINT gp_events_resource_unique UNIQUE (patient_id, resource_type, resource_id)
      )`);
    await q.query(`CREATE INDEX gp_events_code_idx ON gp_events (code)`);
    await q.query(`CREATE INDEX gp_events_date_idx ON gp_events (event_date)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE gp_events, patients, practices`);
  }
}
