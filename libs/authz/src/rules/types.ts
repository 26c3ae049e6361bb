import type { AbilityBuilder, MongoAbility } from '@casl/ability';
import type { Action, Principal, SubjectName } from '@custodian/core';

/**
 * What a rules file is written against. Its own module, so that `ability.ts` imports the rules and
 * the rules import only this (no cycle between them).
 */
// Records are checked with CASL's `subject('Bid', row)` helper, so a subject is a name or a tagged object.
export type AppAbility = MongoAbility<
  [Action, SubjectName | ({ __caslSubjectType__: SubjectName } & Record<string, unknown>)]
>;
export type RuleBuilder = AbilityBuilder<AppAbility>;
export type RulesFile = (user: Principal, builder: RuleBuilder) => void;

export const has = (user: Pick<Principal, 'roles'>, role: Principal['roles'][number]) =>
  user.roles.includes(role);
