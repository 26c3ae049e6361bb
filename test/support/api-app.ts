import { registerApiApp } from '@custodian/testing';

// The application createTestApp() builds, loaded only by the files that build one.
registerApiApp(async () => (await import('../../apps/api/src/bootstrap.js')).createApiApp);
