import { DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AuditModule } from '@custodian/audit';
import { BidsModule } from '@custodian/bids';
import { AppConfig, CoreConfigModule, loggerParams } from '@custodian/core';
import { DatabaseModule } from '@custodian/database';
import { GovernanceModule } from '@custodian/governance';
import { LinkageModule } from '@custodian/linkage';
import { NotificationsModule } from '@custodian/notifications';
import { PracticesModule } from '@custodian/practices';
import { ReleaseModule } from '@custodian/release';

/**
 * The job worker: the feature modules without their controllers. Jobs are consumed here and, by
 * default, also in the API process; run any number of these against one database.
 */
@Module({})
export class WorkerModule {
  static forRoot(config: AppConfig, databaseUrl: string): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        CoreConfigModule.forRoot({ ...config, runWorker: true }),
        LoggerModule.forRoot(loggerParams(config)),
        DatabaseModule.forRoot({ url: databaseUrl, poolSize: 6, applicationName: 'custodian-worker' }),
        AuditModule,
        BidsModule,
        // Provides bids' BID_VOTERS (who may not release a bid they voted on).
        GovernanceModule,
        LinkageModule,
        PracticesModule,
        ReleaseModule,
        NotificationsModule,
      ],
    };
  }
}
