import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { activeType1Among, type HeldGpData } from '@custodian/objections';

/**
 * The GP data held for a patient (`patients`, and its registrations and events by cascade), which
 * this library owns: deleted for Type 1 objectors (SPEC §2, defence in depth) by the extract merge,
 * the sweep, and the objection register through `HELD_GP_DATA`.
 */
@Injectable()
export class HeldPatients implements HeldGpData {
  /**
   * Deletes what is held for every NHS number in `table` whose register entry is an active Type 1
   * objection (read through the register's named query). Returns how many patients went.
   */
  async deleteType1Held(em: EntityManager, table: string): Promise<number> {
    return deleteHeld(em, activeType1Among(table));
  }

  /**
   * Deletes every patient held under an NHS number of `table` (whoever holds them; its registrations
   * and events by cascade): an objector's, and the numbers the intake takes for theirs (`t1x`). The
   * intake has locked every patient `t1x` can reach already, in id order (intake/objections.ts).
   */
  deleteHeldOf(em: EntityManager, table: string): Promise<number> {
    return deleteHeld(em, `SELECT nhs_number FROM ${table}`);
  }

  heldAt(nhs: string, ods: string): string {
    return `EXISTS (SELECT 1 FROM patients p WHERE p.nhs_number = ${nhs} AND p.practice_ods = ${ods})`;
  }

  currentSinceOf(nhs: string, ods: string): string {
    return `(SELECT p.current_since FROM patients p WHERE p.nhs_number = ${nhs} AND p.practice_ods = ${ods})`;
  }

  registeredAt(nhs: string, ods: string): string {
    return `EXISTS (SELECT 1 FROM patients p JOIN patient_registrations r ON r.patient_id = p.id AND r.practice_ods = ${ods}
                     WHERE p.nhs_number = ${nhs})`;
  }
}

/** Deletes the patients held under the NHS numbers `numbers` selects; returns how many went. */
async function deleteHeld(em: EntityManager, numbers: string): Promise<number> {
  // Patients first, by id (the order every writer of patients takes), then the cascade.
  await em.query(
    `SELECT p.id FROM patients p WHERE p.nhs_number IN (${numbers}) ORDER BY p.id FOR UPDATE OF p`,
  );
  const [{ n }]: { n: number }[] = await em.query(`
    WITH gone AS (DELETE FROM patients p WHERE p.nhs_number IN (${numbers}) RETURNING p.id)
    SELECT count(*)::int AS n FROM gone`);
  return n;
}
