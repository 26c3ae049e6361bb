import path from 'node:path';
import { fileURLToPath } from 'node:url';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';
import { SlowFirstSequencer } from './test/support/slow-first.mjs';

const root = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  plugins: [
    // Nest needs decorator metadata, which esbuild does not emit; swc does (same settings as .swcrc).
    swc.vite({
      swcrc: false,
      tsconfigFile: false,
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
        target: 'es2023',
        keepClassNames: true,
      },
      module: { type: 'es6' },
    }),
  ],
  resolve: {
    alias: [
      { find: /^@custodian\/([a-z-]+)$/, replacement: path.join(root, 'libs/$1/src') },
      // One module of a library (`@custodian/core/postcode`), as tsconfig's paths.
      { find: /^@custodian\/([a-z-]+)\/([a-z-]+)$/, replacement: path.join(root, 'libs/$1/src/$2') },
    ],
  },
  test: {
    root,
    globals: true,
    include: ['libs/**/*.spec.ts', 'apps/**/*.spec.ts', 'test/**/*.e2e-spec.ts'],
    globalSetup: ['libs/testing/src/global-setup.ts'],
    // libs/testing builds the API app without importing it (a library never imports an app).
    setupFiles: ['test/support/api-app.ts'],
    pool: 'forks',
    // Files share their worker's module cache (docs/DEVELOPING.md, "Isolation"): each file builds and
    // closes its own app and database, and loading the app's modules once a worker instead of once a
    // file took the suite from 724 s to 464-472 s here (two shuffled orders, all green).
    isolate: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Three files at a time on the 2-core machine: the tests wait on PostgreSQL and on child
    // processes often enough that a third keeps the cores busy (docs/DEVELOPING.md, "Workers").
    maxWorkers: 3,
    // Longest files first, in a fresh clone too (test/support/slow-first.mts).
    sequence: { sequencer: SlowFirstSequencer },
  },
});
