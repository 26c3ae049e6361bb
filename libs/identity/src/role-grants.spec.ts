import { approvalRefusal, planRoleChange } from './role-grants';

describe('planRoleChange', () => {
  it('holds back governance roles not already held; applies the rest and removals at once', () => {
    expect(
      planRoleChange(['researcher', 'panel_member'], ['data_manager', 'release_officer', 'panel_member']),
    ).toEqual({
      apply: ['data_manager', 'panel_member'],
      pending: ['release_officer'],
      fresh: ['release_officer'],
    });
    expect(planRoleChange([], ['admin', 'auditor'])).toEqual({
      apply: [],
      pending: ['admin', 'auditor'],
      fresh: ['admin', 'auditor'],
    });
    expect(planRoleChange(['admin', 'auditor'], ['admin'])).toEqual({
      apply: ['admin'],
      pending: [],
      fresh: [],
    });
    // A role already waiting for approval is asked for again by nobody (review-20).
    expect(planRoleChange(['admin'], ['admin', 'auditor'], ['auditor'])).toEqual({
      apply: ['admin'],
      pending: ['auditor'],
      fresh: [],
    });
    expect(planRoleChange(['practice'], ['practice', 'researcher'])).toEqual({
      apply: ['practice', 'researcher'],
      pending: [],
      fresh: [],
    });
  });
});

describe('approvalRefusal', () => {
  const grant = { requestedBy: 'a', userId: 'u' };
  it('refuses the requester and the grantee, and no one else', () => {
    expect(approvalRefusal(grant, 'a')).toBe('GRANT_APPROVER_IS_REQUESTER');
    expect(approvalRefusal(grant, 'u')).toBe('GRANT_APPROVER_IS_GRANTEE');
    expect(approvalRefusal(grant, 'b')).toBeNull();
  });
});
