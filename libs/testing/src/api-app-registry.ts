import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { AppConfig } from '@custodian/core';

/**
 * Where the test run's setup file (`test/support/api-app.ts`, vitest `setupFiles`) hands over the
 * application under test, loaded on first use (a library never imports an app). A module of its own,
 * with type imports only: every test file runs the setup file, and the unit specs, which build no
 * app, would otherwise load Nest, TypeORM and supertest through `app.ts` (~1.8 s a file).
 */

/** How the application under test is built: `createApiApp` of apps/api/src/bootstrap.ts. */
export type ApiAppFactory = (config: AppConfig, databaseUrl: string) => Promise<NestFastifyApplication>;

let loadApiApp: (() => Promise<ApiAppFactory>) | undefined;

export function registerApiApp(load: () => Promise<ApiAppFactory>): void {
  loadApiApp = load;
}

/** The registered loader (undefined when the setup file did not run). */
export function apiAppLoader(): (() => Promise<ApiAppFactory>) | undefined {
  return loadApiApp;
}
