import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Previous addresses (issue #26): the demographics the centre held for a patient before the ones it
 * holds now. `patients` carries the current registration's sex, date of birth and postcode, and the
 * extract merge overwrites them when a patient moves (within a practice, or to another practice);
 * until now the earlier postcode was lost, so a hospital or social-care row recorded at the old
 * address, without an NHS number, could not link to its person. PDS keeps an address history for
 * the same reason (its tracing matches previous addresses).
 *
 * `patient_address_history (patient_id, sex, birth_date, postcode, superseded_at)`: one row per key
 * a patient held before, written only by the trigger below when `patients`' sex, date of birth or
 * postcode change — the intake's own UPDATE of `patients` fires it, so the intake needs no code of
 * its own (owner: `libs/practices`, whose writes fire it; read by `libs/linkage` as a candidate
 * source of steps 6 and 7). It goes with the patient (`ON DELETE CASCADE`): a Type 1 objection
 * deletes it with the rest of the GP data (the linkage digests of it are kept first).
 * Nothing clinical; the same kind of values `patients` holds.
 *
 * Existing data: the registrations that are not current and whose key differs from the patient's
 * current one are earlier addresses too (the patient was registered there before).
 */
export class PatientAddressHistory1764000042000 implements MigrationInterface {
  name = 'PatientAddressHistory1764000042000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE patient_address_history (
        patient_id bigint NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
        sex char(1) NOT NULL CHECK (sex IN ('M','F','U')),
        birth_date date NOT NULL,
        postcode varchar(8) NOT NULL,
        superseded_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT patient_address_history_pkey PRIMARY KEY (patient_id, postcode, sex, birth_date)
      )`);
    // Steps 6 and 7 probe it by (sex, postcode), as they probe patients.
    await q.query(`
      CREATE INDEX patient_address_history_demographics_idx
          ON patient_address_history (sex, postcode) INCLUDE (birth_date, patient_id)`);
    await q.query(`
      CREATE FUNCTION patient_address_history_keep() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO patient_address_history (patient_id, sex, birth_date, postcode)
        VALUES (OLD.id, OLD.sex, OLD.birth_date, OLD.postcode)
        ON CONFLICT ON CONSTRAINT patient_address_history_pkey
        DO UPDATE SET superseded_at = excluded.superseded_at;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER patients_address_history AFTER UPDATE OF sex, birth_date, postcode ON patients
         FOR EACH ROW
        WHEN (OLD.postcode IS NOT NULL AND OLD.birth_date IS NOT NULL
              AND (OLD.sex, OLD.birth_date, OLD.postcode) IS DISTINCT FROM (NEW.sex, NEW.birth_date, NEW.postcode))
        EXECUTE FUNCTION patient_address_history_keep()`);
    await q.query(`
      INSERT INTO patient_address_history (patient_id, sex, birth_date, postcode, superseded_at)
      SELECT r.patient_id, r.sex, r.birth_date, r.postcode, max(r.received_at)
        FROM patient_registrations r JOIN patients p ON p.id = r.patient_id
       WHERE r.postcode IS NOT NULL
         AND (r.sex, r.birth_date, r.postcode) IS DISTINCT FROM (p.sex, p.birth_date, p.postcode)
       GROUP BY r.patient_id, r.sex, r.birth_date, r.postcode`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER patients_address_history ON patients`);
    await q.query(`DROP FUNCTION patient_address_history_keep()`);
    await q.query(`DROP TABLE patient_address_history`);
  }
}
