import fc from 'fast-check';
import { ROLES, type Role } from '@custodian/core';
import { applicantOrg, seesInternals } from './bid-access';

const ORGS = ['org-a', 'org-b', null] as const;

describe('bid visibility', () => {
  it('a member of the applicant organisation never sees the panel internals, whatever roles they hold', () => {
    fc.assert(
      fc.property(
        fc.subarray([...ROLES] as Role[]),
        (roles) => !seesInternals({ roles, organisationId: 'org-a' }, { organisationId: 'org-a' }),
      ),
    );
  });

  it('only reviewers see internals, and only of other organisations', () => {
    fc.assert(
      fc.property(fc.subarray([...ROLES] as Role[]), fc.constantFrom(...ORGS), (roles, org) => {
        const sees = seesInternals({ roles, organisationId: org }, { organisationId: 'org-a' });
        const reviewer = roles.some((r) =>
          ['panel_member', 'release_officer', 'admin', 'auditor'].includes(r),
        );
        return sees === (reviewer && org !== 'org-a');
      }),
    );
  });

  it('only researchers act as applicants', () => {
    fc.assert(
      fc.property(
        fc.subarray([...ROLES] as Role[]),
        (roles) =>
          applicantOrg({ roles, organisationId: 'org-a' }) ===
          (roles.includes('researcher') ? 'org-a' : null),
      ),
    );
  });
});
