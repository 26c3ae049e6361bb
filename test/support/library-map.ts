/**
 * Who may import whom: each library and the libraries it may import (as `@custodian/<name>`).
 * docs/ARCHITECTURE.md shows this table; `test/boundaries.e2e-spec.ts` checks the code and the
 * document against it. The order is a layering: a library may import only libraries listed above it.
 * Apps (`apps/*`) may import any library; no library imports an app.
 */
export const LIBRARY_MAP: Record<string, readonly string[]> = {
  core: [],
  database: ['core'],
  audit: ['core', 'database'],
  synth: ['core'],
  identity: ['core', 'database', 'audit'],
  notifications: ['core', 'database', 'audit', 'identity'],
  auth: ['core', 'database', 'audit', 'identity'],
  authz: ['core', 'audit'],
  catalog: ['core', 'database', 'audit'],
  linkage: ['core', 'database', 'audit', 'notifications'],
  objections: ['core', 'database', 'audit', 'linkage'],
  practices: ['core', 'database', 'audit', 'identity', 'notifications', 'linkage', 'objections'],
  bids: ['core', 'database', 'audit', 'identity', 'notifications', 'catalog'],
  register: ['core', 'database', 'audit', 'identity', 'catalog', 'bids'],
  governance: ['core', 'database', 'audit', 'identity', 'catalog', 'bids', 'register'],
  release: [
    'core',
    'database',
    'audit',
    'identity',
    'notifications',
    'catalog',
    'linkage',
    'objections',
    'practices',
    'bids',
    'register',
  ],
  transparency: ['core', 'database', 'audit', 'catalog', 'objections', 'bids', 'register', 'release'],
  portal: [
    'core',
    'database',
    'audit',
    'identity',
    'notifications',
    'auth',
    'authz',
    'catalog',
    'linkage',
    'objections',
    'practices',
    'bids',
    'governance',
    'register',
    'release',
    'transparency',
  ],
  testing: ['core', 'database', 'audit', 'identity'],
};

/** Libraries whose single modules may be imported by path (`@custodian/core/postcode`): dependency-free files for the intake's parse thread. */
export const MODULE_PATH_LIBRARIES = ['core', 'objections'];
