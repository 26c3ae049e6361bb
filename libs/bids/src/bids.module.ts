import { Module, OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource, TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditModule, AuditService } from '@custodian/audit';
import { CatalogModule } from '@custodian/catalog';
import { JobsService } from '@custodian/database';
import { NotificationsModule, NotificationsService } from '@custodian/notifications';
import { AGREEMENTS_SWEEP_QUEUE, AgreementsService } from './agreements.service';
import { BidAmendmentsService } from './bid-amendments.service';
import { BidWorkflow } from './bid-workflow';
import { Agreement, Bid, BidEvent, BidVersion } from './bid.entity';
import { BidsService } from './bids.service';
import { CohortService } from './cohort.service';
import { bidsOfOrganisation } from './bid-queries';

/**
 * Every five minutes: an agreement ends at midnight UTC, and its bid, the register and the files follow
 * within minutes (hourly, they lagged up to 67 minutes behind downloads, which stop at once: an
 * outsider's probe). When nothing has ended the sweep is one query over the agreements.
 */
export const AGREEMENTS_SWEEP_CRON = '*/5 * * * *';

@Module({
  imports: [
    TypeOrmModule.forFeature([Bid, BidEvent, Agreement, BidVersion]),
    AuditModule,
    CatalogModule,
    NotificationsModule,
  ],
  providers: [BidWorkflow, BidsService, AgreementsService, BidAmendmentsService, CohortService],
  exports: [BidWorkflow, BidsService, AgreementsService, BidAmendmentsService, CohortService],
})
export class BidsModule implements OnApplicationBootstrap {
  constructor(
    private readonly jobs: JobsService,
    private readonly agreements: AgreementsService,
    notifications: NotificationsService,
    audit: AuditService,
    @InjectDataSource() db: DataSource,
  ) {
    notifications.registerDailySweep('agreements.expiring', (now) => this.agreements.noticeExpiring(now));
    // The audit trail withholds exact figures of an applicant's own bids from an auditor who is also
    // their researcher; which bids are an organisation's, the bids say (the trail cannot read them).
    audit.setApplicantBids(async (ids, organisationId) =>
      (
        (await db.query(bidsOfOrganisation('$1::uuid[]', '$2::uuid'), [ids, organisationId])) as {
          id: string;
        }[]
      ).map((b) => b.id),
    );
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.jobs.work(AGREEMENTS_SWEEP_QUEUE, async () => {
      await this.agreements.sweepExpired();
    });
    await this.jobs.schedule(AGREEMENTS_SWEEP_QUEUE, AGREEMENTS_SWEEP_CRON);
  }
}
