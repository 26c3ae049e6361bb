import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Registrations (SPEC §2): one row per (patient, practice) with that practice's demographics, and
 * GP events that carry their practice, so an extract from one practice never changes what another
 * sent. `patients` keeps one row per NHS number whose demographics and `practice_ods` are those of
 * the current registration (the one most recently received), maintained by the extract merge.
 * Every existing patient becomes one registration at its practice; every event belongs to it.
 */
export class PatientRegistrations1764000011000 implements MigrationInterface {
  name = 'PatientRegistrations1764000011000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE patient_registrations (
        patient_id bigint NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
        practice_ods char(6) NOT NULL REFERENCES practices(ods_code),
        source_id varchar(64) NOT NULL,
        birth_date date NOT NULL,
        sex char(1) NOT NULL CHECK (sex IN ('M','F','U')),
        postcode varchar(8),
        ethnicity char(1) CHECK (ethnicity ~ '^[A-Z]$'),
        extract_id uuid,
        received_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT patient_registrations_pkey PRIMARY KEY (patient_id, practice_ods)
      )`);
    // A practice's clinical entries name their patient by the practice's own id.
    await q.query(
      `CREATE INDEX patient_registrations_practice_idx ON patient_registrations (practice_ods, source_id)`,
    );
    await q.query(`
      INSERT INTO patient_registrations (patient_id, practice_ods, source_id, birth_date, sex, postcode, ethnicity, extract_id, received_at)
      SELECT id, practice_ods, source_id, birth_date, sex, postcode, ethnicity, extract_id, updated_at FROM patients`);
    // Looked up through the registrations now; the derived row is found by NHS number or id.
    await q.query(`DROP INDEX patients_practice_idx`);

    await q.query(`ALTER TABLE gp_events ADD COLUMN practice_ods char(6)`);
    await q.query(
      `UPDATE gp_events g SET practice_ods = p.practice_ods FROM patients p WHERE p.id = g.patient_id`,
    );
    await q.query(`ALTER TABLE gp_events ALTER COLUMN practice_ods SET NOT NULL`);
    await q.query(`ALTER TABLE gp_events DROP CONSTRAINT gp_events_resource_unique`);
    await q.query(
      `ALTER TABLE gp_events ADD CONSTRAINT gp_events_resource_unique UNIQUE (patient_id, practice_ods, resource_type, resource_id)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    // Keeps the current registration's events where two practices sent one resource id.
    await q.query(`
      DELETE FROM gp_events g USING patients p
       WHERE p.id = g.patient_id AND g.practice_ods <> p.practice_ods
         AND EXISTS (SELECT 1 FROM gp_events c WHERE c.patient_id = g.patient_id AND c.practice_ods = p.practice_ods
                        AND c.resource_type = g.resource_type AND c.resource_id = g.resource_id)`);
    await q.query(`ALTER TABLE gp_events DROP CONSTRAINT gp_events_resource_unique`);
    await q.query(
      `ALTER TABLE gp_events ADD CONSTRAINT gp_events_resource_unique UNIQUE (patient_id, resource_type, resource_id)`,
    );
    await q.query(`ALTER TABLE gp_events DROP COLUMN practice_ods`);
    await q.query(`CREATE INDEX patients_practice_idx ON patients (practice_ods, source_id)`);
    await q.query(`DROP TABLE patient_registrations`);
  }
}
