import type { EntityManager } from 'typeorm';

/**
 * What the register needs of the GP data held at the centre (practices' `patients`, and their
 * events by cascade): deleting it for every NHS number in `table` (a relation or parenthesised
 * sub-query with an `nhs_number` column) whose register entry is an active Type 1 objection, in
 * the caller's transaction; returns how many patients went. Practices owns those tables and
 * provides it (`HELD_GP_DATA`), so the import arrow runs one way: practices → objections.
 */
export interface HeldGpData {
  deleteType1Held(em: EntityManager, table: string): Promise<number>;
}
export const HELD_GP_DATA = Symbol('HELD_GP_DATA');
