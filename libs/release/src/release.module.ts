import { Module } from '@nestjs/common';
import { AuditModule } from '@custodian/audit';
import { RegisterModule } from '@custodian/register';
import { DownloadGuard } from './download-guard';
import { ReleaseKeys } from './keys';
import { ReleaseEngine } from './release.engine';
import { ReleaseService } from './release.service';

/** The release engine and its jobs (`release.run`, `release.destroy`), without HTTP: the worker imports this. */
@Module({
  imports: [AuditModule, RegisterModule],
  providers: [ReleaseKeys, ReleaseEngine, ReleaseService, DownloadGuard],
  exports: [ReleaseService, ReleaseEngine, ReleaseKeys, DownloadGuard],
})
export class ReleaseModule {}
