import { approvalRefusal, planRoleChange } from './role-grants';

describe('planRoleChange', () => {
  it('holds back governance roles not already held; applies the rest and removals at once', () => {
    expect(
      planRoleChange(['researcher', 'panel_member'], ['data_manager', 'release_officer', 'panel_member']),
    ).toEqual({
      apply: ['data_manager', 'panel_member'],
      pending: ['release_officer'],
    });
    expect(planRoleChange([], ['admin', 'auditor'])).toEqual({ apply: [], pending: ['admin', 'auditor'] });
    expect(planRoleChange(['admin', 'auditor'], ['admin'])).toEqual({ apply: ['admin'], pending: [] });
    expect(planRoleChange(['practice'], ['practice', 'researcher'])).toEqual({
      apply: ['practice', 'researcher'],
      pending: [],
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
