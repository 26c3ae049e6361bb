import type { Principal, Role } from '@custodian/core';
import { defineAbilityFor } from './ability';

const principal = (roles: Role[], freeze: boolean): Principal => {
  const p: Principal = {
    id: 'u1',
    email: 'a@example.org',
    roles,
    organisationId: 'o1',
    practiceOds: null,
    sessionId: 's1',
  };
  if (freeze) Object.freeze(p.roles);
  return freeze ? Object.freeze(p) : p;
};

describe('defineAbilityFor', () => {
  it('judges a principal by what it is now', () => {
    const open = principal(['researcher'], false);
    expect(defineAbilityFor(open).can('create', 'Organisation')).toBe(false);
    open.roles = ['admin'];
    expect(defineAbilityFor(open).can('create', 'Organisation')).toBe(true);
  });

  it('keeps no decision of one principal for another, whatever their roles', () => {
    const researcher = principal(['researcher'], true);
    const admin = principal(['admin'], true);
    expect(defineAbilityFor(researcher).can('create', 'Organisation')).toBe(false);
    expect(defineAbilityFor(admin).can('create', 'Organisation')).toBe(true);
    expect(defineAbilityFor(researcher).can('create', 'Organisation')).toBe(false);
  });

  it('gives a user with no role (governance roles pending) their own profile and session, and nothing else', () => {
    const ability = defineAbilityFor(principal([], true));
    expect(ability.can('read', 'Profile')).toBe(true);
    expect(ability.can('delete', 'Session')).toBe(true);
    expect(ability.rules.map((r) => `${r.action}:${r.subject}`).sort()).toEqual([
      'delete:Session',
      'read:Profile',
    ]);
  });
});
