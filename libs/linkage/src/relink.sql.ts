import { emptyStepCounts, Exec, LINKAGE_RESULT, LinkageCounts, runLinkage } from './linkage.sql';

export interface RelinkCounts extends LinkageCounts {
  /** Rows examined. */
  checked: number;
  /** Rows whose link was made or changed. */
  changed: number;
  /** Rows without an NHS number, linked before (steps 6 and 7), that the evidence no longer supports: unlinked. */
  unlinked: number;
}

/**
 * Links `table`'s rows again against today's patients and today's evidence, and writes back what
 * changed. `scope`:
 * - `'unlinked'`: rows still unlinked and every row without an NHS number (the re-link job, after new
 *   or deleted patients);
 * - `'demographic'`: every row without an NHS number only (after a load: rows it brought may name
 *   people that make earlier step-6 and step-7 links ambiguous).
 *
 * Rows without an NHS number can only be linked by steps 6 and 7, so each of them is reviewed in full
 * (issue #26): a link the current rule and evidence do not give again is removed — fail closed — and
 * one they give to another patient is moved. Rows linked through their NHS number (steps 1–5 and 8)
 * are never unlinked here (their patient's deletion unlinks them through the foreign key).
 */
export async function relinkTable(
  exec: Exec,
  type1Key: Buffer,
  table: 'hes_episodes' | 'social_care_records',
  scope: 'unlinked' | 'demographic',
): Promise<RelinkCounts> {
  // A patient deleted (Type 1 objection) leaves patient_id NULL through the foreign key; its step no
  // longer means anything.
  // Social care: a row without an NHS number may take its client's (issue #26, client-nhs.sql.ts),
  // and records that it did.
  const clients = table === 'social_care_records';
  const fromClient = (v: string, k = v) =>
    clients ? `, nhs_number_from_client = ${v}, link_from_client = ${k}` : '';
  await exec(
    `UPDATE ${table} SET linkage_step = NULL${fromClient('false')} WHERE patient_id IS NULL AND linkage_step IS NOT NULL`,
  );
  const where = scope === 'unlinked' ? `patient_id IS NULL OR nhs_number IS NULL` : `nhs_number IS NULL`;
  const [{ checked }] = await exec(`SELECT count(*)::int AS checked FROM ${table} WHERE ${where}`);
  if (!checked)
    return {
      checked: 0,
      changed: 0,
      unlinked: 0,
      linked: 0,
      nhsFromClient: 0,
      linkFromClient: 0,
      linkedByStep: emptyStepCounts(),
    };
  const counts = await runLinkage(
    exec,
    `(SELECT id, nhs_number, birth_date, sex, postcode${clients ? ', la_code, person_id, start_date' : ''}
        FROM ${table} WHERE ${where})`,
    type1Key,
    // The rows are the table's own: its probe finds the people they name.
    { inputInSources: true, clients },
  );
  const [{ n: changed }] = await exec(
    `WITH up AS (
       UPDATE ${table} t SET patient_id = l.patient_id, linkage_step = l.step${fromClient('l.nhs_from_client', 'l.link_from_client')}
         FROM ${LINKAGE_RESULT} l
        WHERE t.id = l.id
          AND (t.patient_id IS DISTINCT FROM l.patient_id OR t.linkage_step IS DISTINCT FROM l.step
               ${clients ? 'OR t.nhs_number_from_client IS DISTINCT FROM l.nhs_from_client OR t.link_from_client IS DISTINCT FROM l.link_from_client' : ''})
       RETURNING 1)
     SELECT count(*)::int AS n FROM up`,
  );
  const [{ n: unlinked }] = await exec(
    `WITH gone AS (
       UPDATE ${table} t SET patient_id = NULL, linkage_step = NULL${fromClient('false')}
        WHERE t.nhs_number IS NULL AND t.patient_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM ${LINKAGE_RESULT} l WHERE l.id = t.id)
       RETURNING 1)
     SELECT count(*)::int AS n FROM gone`,
  );
  return { checked: Number(checked), changed: Number(changed), unlinked: Number(unlinked), ...counts };
}
