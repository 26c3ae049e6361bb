import { Global, Module, OnApplicationBootstrap } from '@nestjs/common';
import { PRACTICE_DIRECTORY } from '@custodian/identity';
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
 * practices (practices → objections), as auth provides identity's `USER_SESSIONS`; and
 * `PRACTICE_DIRECTORY` to identity's users API (which practices an account may be bound to).
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
    { provide: PRACTICE_DIRECTORY, useExisting: PracticesService },
  ],
  exports: [PracticesService, ExtractsService, HeldPatients, HELD_GP_DATA, PRACTICE_DIRECTORY],
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
    await this.jobs.work(TYPE1_SWEEP_QUEUE, async (data: { cause?: string }) => {
      await this.extracts.sweepType1Held(data?.cause === 'start' ? 'start' : 'concurrent extracts');
    });
    // And once at every start: a migration that decides objections again (1764000048000 cut their
    // instants to the second, which can make a Type 1 objection active), or a sweep job lost with a
    // database, can leave held what no extract's sweep will look at until the next extract. Cheap
    // when nothing is held of an objector (one query); two starts at once sweep twice, harmlessly.
    await this.jobs.send(TYPE1_SWEEP_QUEUE, { cause: 'start' });
  }
}
