import { has, RulesFile } from '../ability';

export const organisationRules: RulesFile = (user, { can }) => {
  if (has(user, 'admin')) can(['create', 'read', 'update'], 'Organisation');
};
