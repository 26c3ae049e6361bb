import path from 'node:path';
import { fileURLToPath } from 'node:url';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

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
    testTimeout: 30_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
  },
});
