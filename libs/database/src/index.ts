export * from './change-feed';
export * from './connection';
export * from './database.module';
export * from './embedded';
export * from './jobs.service';
export * from './migrate';
export * from './runtime';

export * from './tokens';
