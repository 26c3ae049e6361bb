import { DynamicModule, Module } from '@nestjs/common';
import { AuditModule } from '@custodian/audit';
import { AppConfig, CoreConfigModule } from '@custodian/core';
import { DatabaseModule } from '@custodian/database';
import { IdentityModule } from '@custodian/identity';
import { CreateAdminCommand, MigrateCommand, VerifyAuditCommand } from './commands';

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
}
