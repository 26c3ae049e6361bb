import { Module } from '@nestjs/common';
import { AuditModule } from '@custodian/audit';
import { NotificationsModule } from '@custodian/notifications';
import { RegisterModule } from '@custodian/register';
import { DownloadGuard } from './download-guard';
import { ReleaseKeys } from './keys';
import { ReleaseEngine } from './engine/release.engine';
import { ReleaseDestruction } from './release-destruction.service';
import { ReleaseJobs } from './release-jobs.service';
import { ReleaseService } from './release.service';

/** The release engine and its jobs (`release.run`, `release.shard`, `release.destroy`), without HTTP: the worker imports this. */
@Module({
  imports: [AuditModule, RegisterModule, NotificationsModule],
  providers: [ReleaseKeys, ReleaseEngine, ReleaseService, ReleaseJobs, ReleaseDestruction, DownloadGuard],
  exports: [ReleaseService, ReleaseEngine, ReleaseKeys, ReleaseJobs, ReleaseDestruction, DownloadGuard],
})
export class ReleaseModule {}
