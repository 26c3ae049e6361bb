import type { EntityManager } from 'typeorm';

/**
 * What the register needs of the GP data held at the centre (practices' `patients`, and their
 * registrations and events by cascade): whether a practice holds or registers an NHS number, and deleting it for every NHS number in `table` (a relation or parenthesised
 * sub-query with an `nhs_number` column) whose register entry is an active Type 1 objection, in
 * the caller's transaction; returns how many patients went. Practices owns those tables and
 * provides it (`HELD_GP_DATA`), so the import arrow runs one way: practices → objections.
 */
export interface HeldGpData {
  deleteType1Held(em: EntityManager, table: string): Promise<number>;
  /**
   * An SQL condition: a patient with the NHS number `nhs` (an SQL expression) is held with `ods`
   * (an SQL expression) as their current practice. The register's withdrawal authority and its
   * per-practice counts ask it (SPEC §2).
   */
  heldAt(nhs: string, ods: string): string;
  /** An SQL condition: a patient with the NHS number `nhs` has a registration at the practice `ods`. */
  registeredAt(nhs: string, ods: string): string;
  /**
   * An SQL expression: since when the practice `ods` has been the current practice of the patient
   * with the NHS number `nhs`, without a break (NULL: it is not their current practice).
   */
  currentSinceOf(nhs: string, ods: string): string;
}
export const HELD_GP_DATA = Symbol('HELD_GP_DATA');
