import { has, RulesFile } from './types';

export const auditRules: RulesFile = (user, { can }) => {
  if (has(user, 'auditor')) can(['read', 'verify'], 'Audit');
};
