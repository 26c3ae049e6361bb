export { ChangeFeed, FeedCache } from './change-feed';
export { DatabaseModule } from './database.module';
export { type EmbeddedDatabase, freePort, startEmbeddedPostgres } from './embedded';
export { JobsService } from './jobs.service';
export { runMigrations } from './migrate';
export { onShutdownSignals, prepareDatabase } from './runtime';
export { DATABASE_OWNER_URL } from './tokens';
