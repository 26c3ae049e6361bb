import { DynamicModule, Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ChangeFeed } from './change-feed';
import { dataSourceOptions } from './connection';
import { JobsService } from './jobs.service';
import { DATABASE_OWNER_URL } from './tokens';

/**
 * The one TypeORM DataSource of a process (API, worker, CLI), running as the restricted
 * application role, plus the job queue. `synchronize` is off everywhere: the schema comes from
 * migrations only.
 */
@Global()
@Module({})
export class DatabaseModule {
  static forRoot(opts: { url: string; poolSize?: number; applicationName?: string }): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRoot({
          ...dataSourceOptions({
            url: opts.url,
            poolSize: opts.poolSize,
            applicationName: opts.applicationName,
          }),
          autoLoadEntities: true,
          retryAttempts: 3,
          retryDelay: 1000,
        }),
      ],
      providers: [{ provide: DATABASE_OWNER_URL, useValue: opts.url }, JobsService, ChangeFeed],
      exports: [DATABASE_OWNER_URL, JobsService, ChangeFeed],
    };
  }
}
