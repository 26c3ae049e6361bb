import { AbilityBuilder, createMongoAbility, MongoAbility } from '@casl/ability';
import type { Action, Principal, SubjectName } from '@custodian/core';
import { RULES } from './rules';

// Records are checked with CASL's `subject('Bid', row)` helper, so a subject is a name or a tagged object.
export type AppAbility = MongoAbility<
  [Action, SubjectName | ({ __caslSubjectType__: SubjectName } & Record<string, unknown>)]
>;
export type RuleBuilder = AbilityBuilder<AppAbility>;
export type RulesFile = (user: Principal, builder: RuleBuilder) => void;

/** The caller's abilities: the union of what each rules file grants their roles. Nothing else is allowed. */
export function defineAbilityFor(user: Principal): AppAbility {
  const builder = new AbilityBuilder<AppAbility>(createMongoAbility);
  for (const rules of RULES) rules(user, builder);
  return builder.build();
}

export const has = (user: Pick<Principal, 'roles'>, role: Principal['roles'][number]) =>
  user.roles.includes(role);
