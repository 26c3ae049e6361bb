import { Logger } from '@nestjs/common';
import { isUniqueViolation } from '../practices.service';
import { affected, type IntakeContext } from './context';

const logger = new Logger('Extracts');

/**
 * The merge stage: this extract's Patients into `patients` and their registrations with this
 * practice, then its clinical entries into `gp_events` (the last line of each resource wins).
 * Returns the report's counts: registrations inserted or changed, events inserted or changed.
 */
export async function mergeRecords(
  ix: IntakeContext,
  retracts: boolean,
): Promise<{ patients: number; resources: number; retracted: number }> {
  const { tx, ods } = ix;
  // A Patient without a birth date can only be a reference (objection marker, or a patient already
  // registered with this practice: its registration is then left as it is).
  await ix.rejected(
    `WITH gone AS (
       DELETE FROM xp WHERE birth_date IS NULL AND NOT EXISTS (
         SELECT 1 FROM patients p JOIN patient_registrations r ON r.patient_id = p.id AND r.practice_ods = $1
          WHERE p.nhs_number = xp.nhs_number)
       RETURNING line)
     SELECT line, 'Patient.birthDate: missing' AS reason FROM gone`,
    [ods],
  );
  // Registrations (SPEC §2): one per (patient, practice), holding what this practice sent; the
  // `patients` row (one per NHS number) carries the current registration's demographics, the
  // current registration being the one most recently received in an extract. Found before the
  // merge: whether any person of this extract is known to the centre at all (if not, each new
  // `patients` row is already its only registration's), and whether this practice holds anyone
  // (if not, none of its events can be stored yet: they go in without ON CONFLICT, below).
  const [{ known, firstExtract }]: { known: boolean; firstExtract: boolean }[] = await tx.query(
    `SELECT EXISTS (SELECT 1 FROM xp JOIN patients p ON p.nhs_number = xp.nhs_number) AS known,
            NOT EXISTS (SELECT 1 FROM patient_registrations WHERE practice_ods = $1) AS "firstExtract"`,
    [ods],
  );
  const patients = await mergePatients(ix, known);
  // Records made in error: what this practice held under their ids goes first (retract).
  const retracted = retracts ? await retract(ix) : 0;
  const resources = await mergeEvents(ix, firstExtract);
  return { patients, resources, retracted };
}

async function mergePatients(ix: IntakeContext, known: boolean): Promise<number> {
  const { tx, ods, extractId } = ix;
  // People new to the centre: their row, with this (their only) registration's demographics. When
  // nobody of this extract is known, a plain insert (no speculative insertion; another practice's
  // extract storing one of them meanwhile takes it back to the savepoint, and ON CONFLICT runs).
  const insertPatients = (merge: boolean) =>
    affected(
      tx,
      `INSERT INTO patients (nhs_number, birth_date, sex, postcode, ethnicity, practice_ods, source_id, extract_id, current_since)
       SELECT nhs_number, birth_date, sex, postcode, ethnicity, $1, id, $2::uuid, statement_timestamp() FROM xp WHERE birth_date IS NOT NULL
        ORDER BY nhs_number -- two extracts adding the same people take their keys in one order
       ${merge ? 'ON CONFLICT (nhs_number) DO NOTHING' : ''}`,
      [ods, extractId],
    );
  const created = known ? await insertPatients(true) : await plainFirst(ix, 'new_patients', insertPatients);
  // Everyone new, and every row created here (none stored by another practice's extract meanwhile):
  // each `patients` row is already its only registration's.
  const [{ stored }]: { stored: number }[] = await tx.query(
    `SELECT count(*)::int AS stored FROM xp WHERE birth_date IS NOT NULL`,
  );
  const allNew = !known && created === stored;
  // This practice's registrations: new ones, changed ones, and unchanged ones that are not the
  // current registration (received again, they become the latest). An unchanged re-send of the
  // current registration writes nothing. Rows inserted or changed: the report's `patients`.
  const insertRegistrations = `INSERT INTO patient_registrations AS r
       (patient_id, practice_ods, source_id, birth_date, sex, postcode, ethnicity, extract_id, received_at)
     SELECT p.id, $1, xp.id, xp.birth_date, xp.sex, xp.postcode, xp.ethnicity, $2::uuid, statement_timestamp()
       FROM xp JOIN patients p ON p.nhs_number = xp.nhs_number
      WHERE xp.birth_date IS NOT NULL`;
  const upsertRegistrations = `${insertRegistrations}
     ON CONFLICT (patient_id, practice_ods) DO UPDATE SET
       source_id = excluded.source_id, birth_date = excluded.birth_date, sex = excluded.sex,
       postcode = excluded.postcode, ethnicity = excluded.ethnicity, extract_id = excluded.extract_id,
       received_at = excluded.received_at
     WHERE (r.birth_date, r.sex, r.postcode, r.ethnicity, r.source_id)
           IS DISTINCT FROM (excluded.birth_date, excluded.sex, excluded.postcode, excluded.ethnicity, excluded.source_id)
        OR EXISTS (SELECT 1 FROM patients c WHERE c.id = r.patient_id AND c.practice_ods <> r.practice_ods)`;
  // Every patient row created just now, by this transaction: none can have a registration yet.
  if (allNew) return affected(tx, insertRegistrations, [ods, extractId]);
  // The registrations just written are the latest: their patients' rows follow them.
  const [row]: { n: number }[] = await tx.query(
    `WITH reg AS (${upsertRegistrations}
       RETURNING r.patient_id, r.source_id, r.birth_date, r.sex, r.postcode, r.ethnicity),
     cur AS (
       UPDATE patients p SET birth_date = reg.birth_date, sex = reg.sex, postcode = reg.postcode,
              ethnicity = reg.ethnicity, practice_ods = $1, source_id = reg.source_id,
              extract_id = $2::uuid, updated_at = now(),
              -- Since when this practice has been the current one, without a break: moved only when
              -- another practice becomes current (objection withdrawal authority, objections.sql.ts).
              current_since = CASE WHEN p.practice_ods IS DISTINCT FROM $1::char(6) THEN statement_timestamp()
                                   ELSE p.current_since END
         FROM reg
        WHERE p.id = reg.patient_id
          AND (p.birth_date, p.sex, p.postcode, p.ethnicity, p.practice_ods, p.source_id)
              IS DISTINCT FROM (reg.birth_date, reg.sex, reg.postcode, reg.ethnicity, $1::char(6), reg.source_id))
     SELECT count(*)::int AS n FROM reg`,
    [ods, extractId],
  );
  return row.n;
}

async function mergeEvents(ix: IntakeContext, firstExtract: boolean): Promise<number> {
  const { tx, ods, extractId } = ix;
  // Entries whose Patient was not stored (refused above) are refused too; the rest are merged. An
  // entry of a Patient of this extract that has a birth date was stored (just above, with its
  // registration here): only the others are looked up among what this practice holds.
  await ix.rejected(
    `WITH gone AS (
       DELETE FROM subj s WHERE s.kind = 'E'
          AND NOT EXISTS (SELECT 1 FROM xp WHERE xp.nhs_number = s.nhs_number AND xp.birth_date IS NOT NULL)
          AND NOT EXISTS (
            SELECT 1 FROM patients p JOIN patient_registrations r ON r.patient_id = p.id AND r.practice_ods = $1
             WHERE p.nhs_number = s.nhs_number)
       RETURNING line)
     SELECT line, 'subject: its Patient was not stored' AS reason FROM gone`,
    [ods],
  );
  // The events, this practice's (another practice's rows are never touched, whatever their
  // resource ids): the last line of each resource wins, merged into what is stored. Of a
  // practice's first extract nothing can be stored yet, so they go in without ON CONFLICT's
  // speculative insertion (a fifth of the insert's cost on 1M events, measured). Extracts of one
  // practice are serialised, so none can meet a stored row; should one all the same, the
  // savepoint takes the plain insert back and the merge does it instead.
  const events = (merge: boolean) =>
    affected(
      tx,
      `WITH src AS (
         SELECT DISTINCT ON (p.id, s.resource_type, s.id)
                p.id AS patient_id, s.resource_type, s.id, s.code_system, s.code, s.event_date, s.value
           FROM subj s JOIN patients p ON p.nhs_number = s.nhs_number
          WHERE s.kind = 'E'
          ORDER BY p.id, s.resource_type, s.id, s.line DESC
       )
       INSERT INTO gp_events AS g (patient_id, practice_ods, resource_type, resource_id, code_system, code, event_date, value, extract_id)
       SELECT patient_id, $1, resource_type, id, code_system, code, event_date, value, $2::uuid FROM src${
         merge
           ? `
       ON CONFLICT (patient_id, practice_ods, resource_type, resource_id) DO UPDATE SET
         code_system = excluded.code_system, code = excluded.code, event_date = excluded.event_date,
         value = excluded.value, extract_id = excluded.extract_id
       WHERE (g.code_system, g.code, g.event_date, g.value)
             IS DISTINCT FROM (excluded.code_system, excluded.code, excluded.event_date, excluded.value)`
           : ''
       }`,
      [ods, extractId],
    );
  return firstExtract ? plainFirst(ix, 'first_extract_events', events) : events(true);
}

/**
 * Runs `write(false)` — a plain insert — under a savepoint; should it meet a stored row (a unique
 * violation: another extract stored it meanwhile), takes it back and runs `write(true)`, the merge.
 */
async function plainFirst(
  ix: IntakeContext,
  savepoint: string,
  write: (merge: boolean) => Promise<number>,
): Promise<number> {
  await ix.tx.query(`SAVEPOINT ${savepoint}`);
  try {
    const n = await write(false);
    await ix.tx.query(`RELEASE SAVEPOINT ${savepoint}`);
    return n;
  } catch (e) {
    if (!isUniqueViolation(e)) throw e;
    await ix.tx.query(`ROLLBACK TO SAVEPOINT ${savepoint}`);
    logger.log({ extractId: ix.extractId, savepoint }, 'a plain insert met stored rows: merged');
    return write(true);
  }
}

/**
 * An extract's entries recorded in error: each resource whose last line in the extract is one (`R`)
 * is deleted from what this practice holds for the patient (`gp_events`, by patient, practice,
 * resource type and id — another practice's rows, whatever their ids, are never touched), and its
 * lines leave `subj`; a resource whose last line stores it again keeps that line, the earlier `R`
 * lines go. Set-based: one pass over the extract's few `R` rows and the lines of their resources.
 */
async function retract(ix: IntakeContext): Promise<number> {
  const { tx, ods } = ix;
  await tx.query(`
    CREATE TEMP TABLE xr ON COMMIT DROP AS
    SELECT DISTINCT ON (s.nhs_number, s.resource_type, s.id) s.nhs_number, s.resource_type, s.id, s.kind
      FROM subj s
     WHERE s.kind IN ('E', 'R')
       AND (s.nhs_number, s.resource_type, s.id) IN (SELECT nhs_number, resource_type, id FROM subj WHERE kind = 'R')
     ORDER BY s.nhs_number, s.resource_type, s.id, s.line DESC`);
  const deleted = await affected(
    tx,
    `DELETE FROM gp_events g USING xr JOIN patients p ON p.nhs_number = xr.nhs_number
      WHERE xr.kind = 'R' AND g.patient_id = p.id AND g.practice_ods = $1
        AND g.resource_type = xr.resource_type AND g.resource_id = xr.id`,
    [ods],
  );
  await tx.query(`
    DELETE FROM subj s USING xr
     WHERE s.nhs_number = xr.nhs_number AND s.resource_type = xr.resource_type AND s.id = xr.id
       AND (xr.kind = 'R' OR s.kind = 'R')`);
  return deleted;
}
