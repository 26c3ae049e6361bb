import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService } from '@custodian/audit';
import {
  emptyStepCounts,
  LinkageCounts,
  LINKAGE_LOCK_KEY,
  LINKAGE_RESULT,
  LINKAGE_WORK_MEM,
  runLinkage,
} from './linkage.sql';
import { withClient } from './source-load.service';
import { Type1Keys } from './type1-keys.service';
import { unlinkType1Shared } from './type1-keys.sql';

/** The queue the extract intake sends `{extractId}` to once a GP extract has been stored. */
export const RELINK_QUEUE = 'linkage.relink';

export interface RelinkResult {
  hes: RelinkCounts;
  socialCare: RelinkCounts;
}
export interface RelinkCounts extends LinkageCounts {
  /** Unlinked rows examined. */
  checked: number;
  /** Rows linked at step 6 or 7 that a Type 1 objector's kept key made ambiguous, unlinked. */
  unlinkedType1: number;
}

const SOURCES = [
  ['hes', 'hes_episodes'],
  ['socialCare', 'social_care_records'],
] as const;

/**
 * Re-runs the eight steps for every row of both sources that is still unlinked, against today's
 * patients, so rows loaded before their practice's extract arrived link up. Linked rows are left as
 * they are, except rows linked at step 6 or 7 whose key a Type 1 objector's kept digest shares
 * (`type1-keys.sql.ts`): those could be the objector's, so they are unlinked (and stay so).
 */
@Injectable()
export class LinkageService {
  private readonly logger = new Logger('Linkage');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly audit: AuditService,
    private readonly type1: Type1Keys,
  ) {}

  async relink(trigger: { extractId?: string } = {}): Promise<RelinkResult> {
    return withClient(this.db, async (_client, exec, em) => {
      await exec('SELECT pg_advisory_xact_lock($1)', [LINKAGE_LOCK_KEY]);
      await exec(`SELECT set_config('work_mem', $1, true)`, [LINKAGE_WORK_MEM]);
      const result = {} as RelinkResult;
      for (const [name, table] of SOURCES) {
        // A patient deleted (Type 1 objection) leaves patient_id NULL through the foreign key; its
        // step no longer means anything.
        await exec(
          `UPDATE ${table} SET linkage_step = NULL WHERE patient_id IS NULL AND linkage_step IS NOT NULL`,
        );
        // Usually done when the objection was recorded; again here for rows a load linked meanwhile.
        const unlinkedType1 = await unlinkType1Shared(exec, this.type1.key, table);
        const [{ checked }] = await exec(
          `SELECT count(*)::int AS checked FROM ${table} WHERE patient_id IS NULL`,
        );
        const counts = checked
          ? await runLinkage(
              exec,
              `(SELECT id, nhs_number, birth_date, sex, postcode FROM ${table} WHERE patient_id IS NULL)`,
              this.type1.key,
            )
          : { linked: 0, linkedByStep: emptyStepCounts() };
        if (counts.linked)
          await exec(
            `UPDATE ${table} t SET patient_id = l.patient_id, linkage_step = l.step
               FROM ${LINKAGE_RESULT} l WHERE t.id = l.id AND t.patient_id IS NULL`,
          );
        result[name] = { checked: Number(checked), unlinkedType1, ...counts };
      }
      await this.audit.record(
        {
          action: 'linkage.relink',
          actor: null,
          subjectType: 'Extract',
          subjectId: trigger.extractId ?? null,
          details: { extractId: trigger.extractId ?? null, ...result },
        },
        em,
      );
      this.logger.log(
        { hesLinked: result.hes.linked, socialCareLinked: result.socialCare.linked },
        're-linked unlinked source rows',
      );
      return result;
    });
  }
}
