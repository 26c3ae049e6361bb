import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService } from '@custodian/audit';
import { ForbiddenError, type Principal, type RequestMeta } from '@custodian/core';
import { assertNotApplicant, BidsService, BidWorkflow, type BidWithAgreement } from '@custodian/bids';
import type { ScreenBidDto } from './dto';
import { auditDenied } from './vote-steps';

/** Screening: a release officer accepts a submitted bid into review, or returns it with remarks. */
@Injectable()
export class ScreeningService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly bids: BidsService,
    private readonly workflow: BidWorkflow,
    private readonly audit: AuditService,
  ) {}

  async screen(
    user: Principal,
    id: string,
    dto: ScreenBidDto,
    meta?: RequestMeta,
  ): Promise<BidWithAgreement> {
    return this.db
      .transaction(async (tx) => {
        const bid = await this.bids.lockForReviewer(tx, id, user);
        assertNotApplicant(user, bid, 'screen');
        const accept = dto.outcome === 'accept';
        await this.workflow.transition(tx, bid, accept ? 'screen_accept' : 'screen_return', user, {
          meta,
          remarks: dto.remarks ?? null,
          internalNotes: dto.notes ?? null,
          set: accept ? { reviewRound: bid.reviewRound + 1 } : {},
        });
        return this.bids.readBid(tx, bid.id);
      })
      .catch(async (e: unknown) => {
        if (e instanceof ForbiddenError) await auditDenied(this.audit, user, id, 'bid.screen', e, meta);
        throw e;
      });
  }
}
