import { has, RulesFile } from '../ability';

export const auditRules: RulesFile = (user, { can }) => {
  if (has(user, 'auditor')) can(['read', 'verify'], 'Audit');
};
