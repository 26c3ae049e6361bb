import { registerApiApp } from '@custodian/testing/api-app-registry';

// The application createTestApp() builds, loaded only by the files that build one. The registry
// module alone, not `@custodian/testing`: the unit specs run this file too and build no app.
registerApiApp(async () => (await import('../../apps/api/src/bootstrap.js')).createApiApp);
