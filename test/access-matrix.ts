import type { Role } from '@custodian/core';

/**
 * Who may call each route, written out by hand (not derived from the rules files), so that a
 * change of access in code must be matched here. `public` routes answer everyone; anonymous
 * callers of every other route get 401, and roles not listed get 403. Record-level scoping
 * (own organisation, own practice, recipients) is tested in each module's journeys.
 */
export const ACCESS: Record<string, 'public' | Role[]> = {
  'GET /api/health': 'public',
  'POST /api/auth/login': 'public',
  'POST /api/auth/refresh': 'public',
  'POST /api/auth/logout': [
    'admin',
    'data_manager',
    'practice',
    'researcher',
    'panel_member',
    'release_officer',
    'auditor',
  ],
  'GET /api/auth/me': [
    'admin',
    'data_manager',
    'practice',
    'researcher',
    'panel_member',
    'release_officer',
    'auditor',
  ],
  'POST /api/organisations': ['admin'],
  'GET /api/organisations': ['admin'],
  'GET /api/organisations/:id': ['admin'],
  'POST /api/users': ['admin'],
  'GET /api/users': ['admin'],
  'GET /api/users/:id': ['admin'],
  'PATCH /api/users/:id': ['admin'],
  'GET /api/audit': ['auditor'],
  'GET /api/audit/verify': ['auditor'],
  // Governance (branch `governance`, merged into `portal` to run the portal's journeys).
  'GET /api/datasets': [
    'admin',
    'data_manager',
    'practice',
    'researcher',
    'panel_member',
    'release_officer',
    'auditor',
  ],
  'GET /api/register': 'public',
  'POST /api/bids': ['researcher'],
  'GET /api/bids': ['researcher', 'panel_member', 'release_officer', 'auditor', 'admin'],
  'GET /api/bids/:id': ['researcher', 'panel_member', 'release_officer', 'auditor', 'admin'],
  'PATCH /api/bids/:id': ['researcher'],
  'PUT /api/bids/:id/cohort': ['researcher'],
  'POST /api/bids/:id/submit': ['researcher'],
  'POST /api/bids/:id/withdraw': ['researcher'],
  'POST /api/bids/:id/screen': ['release_officer'],
  'POST /api/bids/:id/votes': ['panel_member'],
  'POST /api/bids/:id/agreement/accept': ['researcher'],
  'POST /api/bids/:id/revoke': ['admin'],
  'GET /api/bids/:id/events': ['researcher', 'panel_member', 'release_officer', 'auditor', 'admin'],
};
