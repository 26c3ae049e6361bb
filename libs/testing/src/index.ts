export { registerApiApp, type ApiAppFactory } from './api-app-registry';
export { createTestApp, TEST_PASSWORD, type TestApp } from './app';
export { BID_STAGES } from './bids';
export { createTestDatabase, type TestDatabase } from './database';
export { OpenApiContract, type OpenApiDocument } from './openapi-contract';
