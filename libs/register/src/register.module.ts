import { Module, OnApplicationBootstrap } from '@nestjs/common';
import { AuditModule } from '@custodian/audit';
import { JobsService } from '@custodian/database';
import { RegisterLogService } from './register-log.service';
import { RegisterService } from './register.service';

/** The daily register checkpoint (#24): every day at 00:05 UTC, whatever happened that day. */
export const REGISTER_CHECKPOINT_QUEUE = 'register.checkpoint';
export const REGISTER_CHECKPOINT_CRON = '5 0 * * *';

@Module({
  imports: [AuditModule],
  providers: [RegisterService, RegisterLogService],
  exports: [RegisterService, RegisterLogService],
})
export class RegisterModule implements OnApplicationBootstrap {
  constructor(
    private readonly jobs: JobsService,
    private readonly log: RegisterLogService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.jobs.work(REGISTER_CHECKPOINT_QUEUE, async () => {
      await this.log.keepDaily();
    });
    await this.jobs.schedule(REGISTER_CHECKPOINT_QUEUE, REGISTER_CHECKPOINT_CRON);
  }
}
