import { Module, OnApplicationBootstrap } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '@custodian/audit';
import { JobsService } from '@custodian/database';
import { Type1KeysModule } from '@custodian/linkage';
import { NotificationsModule, NotificationsService } from '@custodian/notifications';
import { ObjectionsModule } from '@custodian/objections';
import { ExtractsService, TYPE1_SWEEP_QUEUE } from './extracts.service';
import { Practice } from './practice.entity';
import { PracticesService } from './practices.service';

/** Practices and extracts, without controllers (the worker imports this); consumes `practices.type1-sweep`. */
@Module({
  imports: [
    TypeOrmModule.forFeature([Practice]),
    AuditModule,
    ObjectionsModule,
    Type1KeysModule,
    NotificationsModule,
  ],
  providers: [PracticesService, ExtractsService],
  exports: [PracticesService, ExtractsService],
})
export class PracticesModule implements OnApplicationBootstrap {
  constructor(
    private readonly jobs: JobsService,
    private readonly extracts: ExtractsService,
    practices: PracticesService,
    notifications: NotificationsService,
  ) {
    notifications.registerDailySweep('awareness.ended', (now) => practices.noticeAwarenessEnded(now));
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.jobs.work(TYPE1_SWEEP_QUEUE, async () => {
      await this.extracts.sweepType1Held();
    });
  }
}
