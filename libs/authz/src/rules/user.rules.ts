import { has, RulesFile } from '../ability';

export const userRules: RulesFile = (user, { can }) => {
  if (has(user, 'admin')) can(['create', 'read', 'update'], 'User');
};
