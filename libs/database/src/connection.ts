import { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '../../../migrations';

/** The role the application runs as: it owns nothing, and cannot UPDATE or DELETE the audit trail. */
export const APP_ROLE = 'custodian_app';

export interface ConnectionOptions {
  url: string;
  /** Run as the restricted application role (the default). Migrations run as the URL's own user. */
  asAppRole?: boolean;
  poolSize?: number;
  applicationName?: string;
}

/** The one DataSource definition shared by the API, the worker, the CLI and the tests. */
export function dataSourceOptions(opts: ConnectionOptions): DataSourceOptions {
  return {
    type: 'postgres',
    url: opts.url,
    synchronize: false,
    migrationsRun: false,
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    entities: [],
    logging: false,
    installExtensions: false,
    extra: {
      max: opts.poolSize ?? 10,
      application_name: opts.applicationName ?? 'custodian',
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
      // The restricted role is applied in the startup packet, so every pooled connection has it
      // before its first query.
      ...(opts.asAppRole === false ? {} : { options: `-c role=${APP_ROLE}` }),
    },
  };
}
