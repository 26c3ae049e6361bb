import { DynamicModule, Module } from '@nestjs/common';
import { AuditModule } from '@custodian/audit';
import { AppConfig, CoreConfigModule } from '@custodian/core';
import { DatabaseModule } from '@custodian/database';
import { IdentityModule } from '@custodian/identity';
import { CreateAdminCommand, MigrateCommand, VerifyAuditCommand } from './commands';
import { ExtractCommand } from './extract.command';

@Module({})
export class CliModule {
  static forRoot(config: AppConfig, databaseUrl: string): DynamicModule {
    return {
      module: CliModule,
      imports: [
        CoreConfigModule.forRoot({ ...config, runWorker: false }),
        DatabaseModule.forRoot({ url: databaseUrl, poolSize: 4, applicationName: 'custodian-cli' }),
        AuditModule,
        IdentityModule,
      ],
      providers: [MigrateCommand, CreateAdminCommand, VerifyAuditCommand],
    };
  }

  /**
   * Commands that run without a database (see OFFLINE in main.ts): the practice-side extractor.
   * No DataSource is created, so nothing tries to connect.
   */
  static offline(config: AppConfig): DynamicModule {
    return {
      module: CliModule,
      imports: [CoreConfigModule.forRoot({ ...config, runWorker: false })],
      providers: [ExtractCommand],
    };
  }
}
