import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService } from '@custodian/audit';
import { LINKAGE_LOCK_KEY, LINKAGE_WORK_MEM } from './linkage.sql';
import { RelinkCounts, relinkTable } from './relink.sql';
import { withClient } from './source-load.service';
import { Type1Keys } from './type1-keys.service';

export type { RelinkCounts } from './relink.sql';

/** The queue the extract intake sends `{extractId}` to once a GP extract has been stored. */
export const RELINK_QUEUE = 'linkage.relink';

export interface RelinkResult {
  hes: RelinkCounts;
  socialCare: RelinkCounts;
}

const SOURCES = [
  ['hes', 'hes_episodes'],
  ['socialCare', 'social_care_records'],
] as const;

/**
 * Re-runs the eight steps for every row of both sources that is still unlinked, and reviews every
 * row without an NHS number (linked at step 6 or 7, or not), against today's patients and evidence
 * (`relinkTable`), so rows loaded before their practice's extract arrived link up, and a link that
 * new patients, a Type 1 objector's kept key or a newly named person make doubtful is removed.
 * Links made through the NHS number are left as they are.
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
      for (const [name, table] of SOURCES)
        result[name] = await relinkTable(exec, this.type1.key, table, 'unlinked');
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
