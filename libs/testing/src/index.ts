export * from './app';
export * from './bids';
export * from './database';
export * from './openapi-contract';
