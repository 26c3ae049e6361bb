import type { EntityManager } from 'typeorm';
import type { Principal } from '@custodian/core';

/**
 * What every stage of an extract's merge shares: the upload's transaction, whose upload it is, and
 * `rejected` — a statement whose last `SELECT line, reason` lists lines the SQL refuses, made to
 * insert them into the transaction's `rej` table (counted by reason at the end: never one object
 * each in memory). The stages run in order inside one transaction (extract-merge.ts).
 */
export interface IntakeContext {
  tx: EntityManager;
  actor: Principal;
  ods: string;
  extractId: string;
  /** Runs `sql` with its final `SELECT line, reason` inserted into `rej`; returns how many. */
  rejected(sql: string, params?: unknown[]): Promise<number>;
}

/** The number of rows a statement inserted, updated or deleted (its command tag's count). */
export async function affected(tx: EntityManager, sql: string, params: unknown[] = []): Promise<number> {
  const result = await tx.queryRunner!.query(sql, params, true);
  return result.affected ?? 0;
}

/** Working memory for the intake's merge (transaction-local). */
const INTAKE_WORK_MEM = '128MB';

/** The context of one upload's merge, with its `rej` table made and its working memory set. */
export async function intakeContext(
  tx: EntityManager,
  actor: Principal,
  ods: string,
  extractId: string,
): Promise<IntakeContext> {
  await tx.query(`CREATE TEMP TABLE rej (line int NOT NULL, reason text NOT NULL) ON COMMIT DROP`);
  // The sorts and hashes over a whole extract's rows (DISTINCT ON, the subject joins) then stay
  // in memory instead of spilling to disk: 800k events sort in ~60 MB.
  await tx.query(`SELECT set_config('work_mem', $1, true)`, [INTAKE_WORK_MEM]);
  return {
    tx,
    actor,
    ods,
    extractId,
    rejected: async (sql, params = []) => {
      const at = sql.lastIndexOf('SELECT line,');
      return affected(tx, `${sql.slice(0, at)}INSERT INTO rej (line, reason) ${sql.slice(at)}`, params);
    },
  };
}
