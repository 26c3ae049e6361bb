import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import { AuditHttpModule, AuditModule } from '@custodian/audit';
import { AuthHttpModule, AuthModule, JwtAuthGuard } from '@custodian/auth';
import { AuthzModule, PoliciesGuard } from '@custodian/authz';
import { BidsHttpModule } from '@custodian/bids';
import { GovernanceHttpModule } from '@custodian/governance';
import { CatalogHttpModule } from '@custodian/catalog';
import {
  AppConfig,
  CoreConfigModule,
  GlobalExceptionFilter,
  loggerParams,
  StrictValidationPipe,
} from '@custodian/core';
import { DatabaseModule } from '@custodian/database';
import { IdentityHttpModule } from '@custodian/identity';
import { PortalHttpModule } from '@custodian/portal';
import { RegisterHttpModule } from '@custodian/register';
import { LinkageHttpModule } from '@custodian/linkage';
import { NotificationsHttpModule } from '@custodian/notifications';
import { ObjectionsHttpModule } from '@custodian/objections';
import { PracticesHttpModule } from '@custodian/practices';
import { ReleaseHttpModule } from '@custodian/release';
import { TransparencyHttpModule } from '@custodian/transparency';
import { HealthController } from './health.controller';
import { IdempotencyInterceptor } from './idempotency';
import { KnownQueryGuard } from './known-query.guard';
import { NoBodyGuard } from './no-body.guard';

export interface ApiModuleOptions {
  config: AppConfig;
  databaseUrl: string;
}

/**
 * The HTTP application: every *HttpModule, the global pipe, filter and the global guards (authenticate,
 * authorise, then refuse a body where the route takes none).
 */
@Module({})
export class ApiModule {
  static forRoot({ config, databaseUrl }: ApiModuleOptions): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        CoreConfigModule.forRoot(config),
        // No middleware: the access log is a Fastify hook (see bootstrap.ts).
        LoggerModule.forRoot({ ...loggerParams(config), forRoutes: [] }),
        DatabaseModule.forRoot({ url: databaseUrl, poolSize: 20, applicationName: 'custodian-api' }),
        AuditModule,
        AuthModule,
        AuthzModule,
        AuthHttpModule,
        IdentityHttpModule,
        AuditHttpModule,
        CatalogHttpModule,
        BidsHttpModule,
        GovernanceHttpModule,
        RegisterHttpModule,
        LinkageHttpModule,
        PracticesHttpModule,
        ObjectionsHttpModule,
        PortalHttpModule,
        ReleaseHttpModule,
        TransparencyHttpModule,
        NotificationsHttpModule,
      ],
      controllers: [HealthController],
      providers: [
        { provide: APP_GUARD, useExisting: JwtAuthGuard },
        { provide: APP_GUARD, useExisting: PoliciesGuard },
        { provide: APP_GUARD, useClass: NoBodyGuard },
        { provide: APP_GUARD, useClass: KnownQueryGuard },
        { provide: APP_FILTER, useClass: GlobalExceptionFilter },
        IdempotencyInterceptor,
        { provide: APP_INTERCEPTOR, useExisting: IdempotencyInterceptor },
        {
          provide: APP_PIPE,
          useValue: new StrictValidationPipe({
            whitelist: true,
            forbidNonWhitelisted: true,
            transform: true,
            forbidUnknownValues: true,
            stopAtFirstError: false,
          }),
        },
      ],
    };
  }
}
