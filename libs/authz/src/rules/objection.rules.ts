import { has, RulesFile } from '../ability';

/** Objections through the API: practices only, for their own patients (checked in ObjectionsService). */
export const objectionRules: RulesFile = (user, { can }) => {
  if (has(user, 'practice')) can('create', 'Objection');
};
