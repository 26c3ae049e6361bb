import { Module, OnApplicationBootstrap } from '@nestjs/common';
import { AuditModule } from '@custodian/audit';
import { JobsService } from '@custodian/database';
import { NotificationsModule } from '@custodian/notifications';
import { LinkageService, RELINK_QUEUE } from './linkage.service';
import { SourceLoadService } from './source-load.service';
import { Type1KeysModule } from './type1-keys.service';

/** Loading and linkage, without controllers (the worker imports this); consumes `linkage.relink`. */
@Module({
  imports: [AuditModule, Type1KeysModule, NotificationsModule],
  providers: [SourceLoadService, LinkageService],
  exports: [SourceLoadService, LinkageService],
})
export class LinkageModule implements OnApplicationBootstrap {
  constructor(
    private readonly jobs: JobsService,
    private readonly linkage: LinkageService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.jobs.work<{ extractId?: string }>(
      RELINK_QUEUE,
      async (data) => {
        await this.linkage.relink({ extractId: data?.extractId });
      },
      { concurrency: 1 },
    );
  }
}
