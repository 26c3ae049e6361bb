import { AbilityBuilder, createMongoAbility } from '@casl/ability';
import type { Principal } from '@custodian/core';
import { RULES } from './rules';
import type { AppAbility } from './rules/types';

export { has, type AppAbility, type RuleBuilder, type RulesFile } from './rules/types';

/** The caller's abilities: the union of what each rules file grants their roles. Nothing else is allowed. */
export function defineAbilityFor(user: Principal): AppAbility {
  const builder = new AbilityBuilder<AppAbility>(createMongoAbility);
  for (const rules of RULES) rules(user, builder);
  return builder.build();
}
