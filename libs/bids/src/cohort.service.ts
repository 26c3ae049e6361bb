import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { DataSource } from 'typeorm';
import { AuditService } from '@custodian/audit';
import {
  ConflictError,
  NotFoundError,
  spoolBody,
  ValidationError,
  type Principal,
  type RequestMeta,
  type SpooledBody,
} from '@custodian/core';
import { EDITABLE_STATES } from './bid-state';
import { Bid } from './bid.entity';
import { requireApplicantOrg } from './bid-locks';
import { BidsService } from './bids.service';
import { CohortLines } from './cohort-lines';
import type { CohortUploadDto } from './dto';
import { BIDS_ERRORS } from './bids.errors';

/** A cohort file is only for a consent bid that can still be edited. */
function assertTakesCohort(bid: Bid): void {
  if (bid.legalBasis !== 'consent')
    throw new ConflictError(BIDS_ERRORS.COHORT_NOT_ALLOWED, 'A cohort file is only for bids under consent');
  if (!EDITABLE_STATES.includes(bid.state))
    throw new ConflictError(BIDS_ERRORS.BID_NOT_EDITABLE, `A bid in state ${bid.state} cannot be edited`, {
      state: bid.state,
    });
}

/** A cohort up to this size (about 90 000 NHS numbers) is spooled in memory, a larger one to a temp file. */
const COHORT_MEMORY_BYTES = 1024 * 1024;

/**
 * Consent cohorts: the consenting patients' NHS numbers, streamed with COPY into a temporary table,
 * validated line by line, and swapped into bid_cohort_members in one transaction. All or nothing:
 * one bad line refuses the whole file. Responses carry counts and line numbers, never numbers.
 * The body is read whole (spooled) before a connection is taken: a client trickling its file
 * holds no connection, transaction or bid row lock meanwhile.
 */
@Injectable()
export class CohortService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly bids: BidsService,
    private readonly audit: AuditService,
  ) {}

  async upload(
    user: Principal,
    bidId: string,
    body: NodeJS.ReadableStream,
    meta?: RequestMeta,
  ): Promise<CohortUploadDto> {
    const org = requireApplicantOrg(user);
    // Refused at once for another organisation's bid, or one that cannot take a cohort now
    // (checked again under the row lock below).
    const current = await this.db.manager.findOne(Bid, { where: { id: bidId, organisationId: org } });
    if (!current) throw new NotFoundError(BIDS_ERRORS.NOT_FOUND, 'Bid');
    assertTakesCohort(current);
    const spooled = await spoolBody(body, { memoryBytes: COHORT_MEMORY_BYTES });
    try {
      return await this.store(user, org, bidId, spooled, meta);
    } finally {
      await spooled.dispose();
    }
  }

  private async store(
    user: Principal,
    org: string,
    bidId: string,
    spooled: SpooledBody,
    meta?: RequestMeta,
  ): Promise<CohortUploadDto> {
    const qr = this.db.createQueryRunner();
    await qr.connect();
    const client = (qr as unknown as { databaseConnection: PoolClient }).databaseConnection;
    await qr.startTransaction();
    try {
      const bid = await this.bids.lockForApplicant(qr.manager, bidId, org);
      assertTakesCohort(bid);
      await client.query('CREATE TEMP TABLE cohort_upload (nhs_number char(10) NOT NULL) ON COMMIT DROP');
      const lines = new CohortLines();
      try {
        await pipeline(
          spooled.open(),
          lines,
          client.query(copyFrom('COPY cohort_upload (nhs_number) FROM STDIN')),
        );
      } catch (e) {
        if ((e as Error).message === BIDS_ERRORS.COHORT_LINE_TOO_LONG)
          throw new ValidationError(BIDS_ERRORS.INVALID_COHORT_FILE, 'A line of the cohort file is too long');
        throw e;
      }
      if (lines.badCount)
        throw new ValidationError(
          BIDS_ERRORS.INVALID_NHS_NUMBERS,
          `${lines.badCount} line(s) do not hold a valid NHS number; nothing was stored`,
          { badCount: lines.badCount, badLines: lines.badLines },
        );
      if (!lines.received) throw new ValidationError(BIDS_ERRORS.EMPTY_COHORT, 'The cohort file is empty');
      await client.query('DELETE FROM bid_cohort_members WHERE bid_id = $1', [bid.id]);
      const inserted = await client.query(
        `INSERT INTO bid_cohort_members (bid_id, nhs_number) SELECT DISTINCT $1::uuid, nhs_number FROM cohort_upload`,
        [bid.id],
      );
      const stored = inserted.rowCount ?? 0;
      await client.query('UPDATE bids SET cohort_size = $2, updated_at = now() WHERE id = $1', [
        bid.id,
        stored,
      ]);
      await this.audit.record(
        {
          action: 'bid.cohort_upload',
          actor: user,
          bidId: bid.id,
          subjectType: 'bid',
          subjectId: bid.id,
          meta,
          details: { received: lines.received, stored },
        },
        qr.manager,
      );
      await qr.commitTransaction();
      return { received: lines.received, stored, duplicates: lines.received - stored };
    } catch (e) {
      await qr.rollbackTransaction().catch(() => undefined);
      throw e;
    } finally {
      await qr.release();
    }
  }
}
