import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Previous addresses (issue #26): every key (sex, date of birth, postcode) the centre has held for a
 * patient — the current one and those before it. `patients` carries the current registration's
 * demographics, and the extract merge overwrites them when a patient moves (within a practice, or to
 * another practice); until now the earlier postcode was lost, so a hospital or social-care row
 * recorded at the old address, without an NHS number, could not link to its person. PDS keeps an
 * address history for the same reason.
 *
 * `patient_address_history (patient_id, nhs_number, sex, birth_date, postcode, recorded_at)`: one row
 * per key a patient has had, written only by the triggers below — a patient inserted brings their
 * key, an update of sex, date of birth or postcode brings the new one (and the old one stays) — so
 * the intake's own INSERT and UPDATE of `patients` fill it and the intake needs no code of its own
 * (owner: `libs/practices`, whose writes fire them; read by `libs/linkage`: steps 6 and 7 probe this
 * one index, current and previous keys alike, instead of `patients` and a second table). It goes with
 * the patient (`ON DELETE CASCADE`): a Type 1 objection deletes it with the rest of the GP data (the
 * linkage digests of its keys are kept first). Nothing clinical; the values `patients` holds.
 *
 * Existing data: every patient's current key, and the keys of their registrations (an earlier
 * practice's address).
 */
export class PatientAddressHistory1764000042000 implements MigrationInterface {
  name = 'PatientAddressHistory1764000042000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE patient_address_history (
        patient_id bigint NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
        nhs_number char(10) NOT NULL,
        sex char(1) NOT NULL CHECK (sex IN ('M','F','U')),
        birth_date date NOT NULL,
        postcode varchar(8) NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT patient_address_history_pkey PRIMARY KEY (patient_id, postcode, sex, birth_date)
      )`);
    // Steps 6 and 7 probe it by (sex, postcode), index-only.
    await q.query(`
      CREATE INDEX patient_address_history_demographics_idx
          ON patient_address_history (sex, postcode) INCLUDE (birth_date, nhs_number)`);
    // New patients (set-based: the intake inserts a practice's new patients in one statement).
    await q.query(`
      CREATE FUNCTION patient_address_history_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO patient_address_history (patient_id, nhs_number, sex, birth_date, postcode)
        SELECT n.id, n.nhs_number, n.sex, n.birth_date, n.postcode FROM new_patients n
         WHERE n.postcode IS NOT NULL AND n.birth_date IS NOT NULL
        ON CONFLICT DO NOTHING;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER patients_address_history_insert AFTER INSERT ON patients
        REFERENCING NEW TABLE AS new_patients
        FOR EACH STATEMENT EXECUTE FUNCTION patient_address_history_inserted()`);
    // A change of key (a move, a corrected DOB): the new key joins the old ones.
    await q.query(`
      CREATE FUNCTION patient_address_history_updated() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO patient_address_history (patient_id, nhs_number, sex, birth_date, postcode)
        VALUES (NEW.id, NEW.nhs_number, NEW.sex, NEW.birth_date, NEW.postcode)
        ON CONFLICT DO NOTHING;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER patients_address_history_update AFTER UPDATE OF sex, birth_date, postcode ON patients
         FOR EACH ROW
        WHEN (NEW.postcode IS NOT NULL AND NEW.birth_date IS NOT NULL
              AND (OLD.sex, OLD.birth_date, OLD.postcode) IS DISTINCT FROM (NEW.sex, NEW.birth_date, NEW.postcode))
        EXECUTE FUNCTION patient_address_history_updated()`);
    await q.query(`
      INSERT INTO patient_address_history (patient_id, nhs_number, sex, birth_date, postcode)
      SELECT p.id, p.nhs_number, p.sex, p.birth_date, p.postcode FROM patients p
       WHERE p.postcode IS NOT NULL AND p.birth_date IS NOT NULL
      UNION
      SELECT p.id, p.nhs_number, r.sex, r.birth_date, r.postcode
        FROM patient_registrations r JOIN patients p ON p.id = r.patient_id
       WHERE r.postcode IS NOT NULL
      ON CONFLICT DO NOTHING`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER patients_address_history_update ON patients`);
    await q.query(`DROP TRIGGER patients_address_history_insert ON patients`);
    await q.query(`DROP FUNCTION patient_address_history_updated()`);
    await q.query(`DROP FUNCTION patient_address_history_inserted()`);
    await q.query(`DROP TABLE patient_address_history`);
  }
}
