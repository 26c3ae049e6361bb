import { has, RulesFile } from './types';

export const userRules: RulesFile = (user, { can }) => {
  if (has(user, 'admin')) can(['create', 'read', 'update'], 'User');
};
