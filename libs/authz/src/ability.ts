import { AbilityBuilder, createMongoAbility } from '@casl/ability';
import type { Principal } from '@custodian/core';
import { RULES } from './rules';
import type { AppAbility } from './rules/types';

export { has, type AppAbility, type RuleBuilder, type RulesFile } from './rules/types';

/** The caller's abilities: the union of what each rules file grants their roles. Nothing else is allowed. */
export function defineAbilityFor(user: Principal): AppAbility {
  // A frozen principal (the session cache's: one object serves a session's requests until a change
  // to the user or session replaces it) cannot change, so neither can its abilities: built once.
  const frozen = Object.isFrozen(user) && Object.isFrozen(user.roles);
  const known = frozen ? abilities.get(user) : undefined;
  if (known) return known;
  const builder = new AbilityBuilder<AppAbility>(createMongoAbility);
  for (const rules of RULES) rules(user, builder);
  const ability = builder.build();
  if (frozen) abilities.set(user, ability);
  return ability;
}

/** Abilities of frozen principals, dropped with them. */
const abilities = new WeakMap<Principal, AppAbility>();
