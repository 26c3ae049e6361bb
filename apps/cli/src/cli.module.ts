import { DynamicModule, Module } from '@nestjs/common';
import { AuditModule } from '@custodian/audit';
import { AppConfig, CoreConfigModule } from '@custodian/core';
import { DatabaseModule } from '@custodian/database';
import { AuthModule } from '@custodian/auth';
import { IdentityModule } from '@custodian/identity';
import { RegisterLogService } from '@custodian/register';
import { CreateAdminCommand, MigrateCommand, VerifyAuditCommand } from './commands';
import { ExtractCommand } from './extract.command';
import { SynthCommand } from './synth.command';
import { VerifyRegisterCommand } from './verify-register.command';

/** Every command. Those that use the database take its services when they run (commands.ts). */
const COMMANDS = [
  MigrateCommand,
  CreateAdminCommand,
  VerifyAuditCommand,
  SynthCommand,
  ExtractCommand,
  VerifyRegisterCommand,
];

@Module({})
export class CliModule {
  static forRoot(config: AppConfig, databaseUrl: string | undefined): DynamicModule {
    const core = CoreConfigModule.forRoot({ ...config, runWorker: false });
    // Without one (help, no command, a misspelt one, or a command that needs none), no database.
    if (!databaseUrl) return { module: CliModule, imports: [core], providers: COMMANDS };
    return {
      module: CliModule,
      imports: [
        core,
        DatabaseModule.forRoot({ url: databaseUrl, poolSize: 4, applicationName: 'custodian-cli' }),
        AuditModule,
        // Identity ends sessions through auth's USER_SESSIONS.
        AuthModule,
        IdentityModule,
      ],
      // The register's log service gives verify-audit its anchor (the latest signed checkpoint).
      providers: [RegisterLogService, ...COMMANDS],
    };
  }
}
