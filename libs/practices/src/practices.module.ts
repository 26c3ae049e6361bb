import { Global, Module, OnApplicationBootstrap } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '@custodian/audit';
import { JobsService } from '@custodian/database';
import { Type1KeysModule } from '@custodian/linkage';
import { NotificationsModule, NotificationsService } from '@custodian/notifications';
import { HELD_GP_DATA, ObjectionsModule } from '@custodian/objections';
import { ExtractsService, TYPE1_SWEEP_QUEUE } from './extracts.service';
import { HeldPatients } from './held-patients';
import { Practice } from './practice.entity';
import { PracticesService } from './practices.service';

/**
 * Practices and extracts, without controllers (the worker imports this); consumes
 * `practices.type1-sweep`. Global: it provides `HELD_GP_DATA` to objections, which does not import
 * practices (practices → objections), as auth provides identity's `USER_SESSIONS`.
 */
@Global()
@Module({
  imports: [
    TypeOrmModule.forFeature([Practice]),
    AuditModule,
    ObjectionsModule,
    Type1KeysModule,
    NotificationsModule,
  ],
  providers: [
    PracticesService,
    ExtractsService,
    HeldPatients,
    { provide: HELD_GP_DATA, useExisting: HeldPatients },
  ],
  exports: [PracticesService, ExtractsService, HeldPatients, HELD_GP_DATA],
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
