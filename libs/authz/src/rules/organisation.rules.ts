import { has, RulesFile } from './types';

export const organisationRules: RulesFile = (user, { can }) => {
  if (has(user, 'admin')) can(['create', 'read', 'update'], 'Organisation');
};
