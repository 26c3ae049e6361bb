import { rm } from 'node:fs/promises';
import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService } from '@custodian/audit';
import { RegisterService } from '@custodian/register';
import { DownloadGuard, RELEASE_AGREEMENT_VERSION } from './download-guard';
import { ReleaseEngine } from './engine/release.engine';
import type { ReleaseState } from './release.types';

/** Destruction of a bid's releases (the `release.destroy` job: the agreement expired or was revoked). */
@Injectable()
export class ReleaseDestruction {
  private readonly logger = new Logger('ReleaseDestruction');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly audit: AuditService,
    private readonly engine: ReleaseEngine,
    private readonly downloads: DownloadGuard,
    private readonly register: RegisterService,
  ) {}

  /**
   * Expiry or revocation of the bid's agreement: downloads stop at once (first statement), then
   * the files are deleted and each release gets a destruction record on the audit trail.
   */
  async destroy(bidId: string, reason: string, beforeVersion?: number): Promise<void> {
    // `beforeVersion` (an amendment in force): only the releases made under earlier versions.
    const [stopped]: [{ id: string; state: ReleaseState }[], number] = await this.db.query(
      `UPDATE releases r SET downloadable = false,
              state = CASE WHEN state = 'queued' THEN 'failed' ELSE state END,
              failure_reason = CASE WHEN state = 'queued' THEN 'RELEASE_DESTROYED: the agreement ended before the release ran' ELSE failure_reason END
        WHERE bid_id = $1 AND destroyed_at IS NULL
          AND ($2::int IS NULL OR ${RELEASE_AGREEMENT_VERSION} < $2::int)
        RETURNING id, state`,
      [bidId, beforeVersion ?? null],
    );
    // Streams already open in this process stop now (other processes hear of the agreement's end
    // from the change feed, or at their next check).
    if (beforeVersion === undefined) this.downloads.closeBid(bidId);
    for (const r of stopped) {
      await rm(this.engine.dirOf(r.id), { recursive: true, force: true });
      await this.db.transaction(async (tx) => {
        await tx.query(
          `UPDATE releases SET destroyed_at = now(), destruction_reason = $2 WHERE id = $1 AND destroyed_at IS NULL`,
          [r.id, String(reason).slice(0, 200)],
        );
        // The register keeps the line and says the files were destroyed, and when.
        await this.register.recordDestruction(r.id, String(reason).slice(0, 200), tx);
        await this.audit.record(
          {
            action: 'release.destroyed',
            actor: null,
            bidId,
            subjectType: 'Release',
            subjectId: r.id,
            details: { reason: String(reason).slice(0, 200), state: r.state },
          },
          tx,
        );
      });
    }
    this.logger.log({ bidId, releases: stopped.length }, 'release files destroyed');
  }
}
