import { has, RulesFile } from './types';

/**
 * Practices (SPEC §7): admins create, change, roll out and read every practice; a practice account
 * reads its own and records its awareness start (`submit`). Which practice a practice user may
 * touch is decided in PracticesService (another practice is 404).
 */
export const practiceRules: RulesFile = (user, { can }) => {
  if (has(user, 'admin')) can(['create', 'read', 'update', 'rollout', 'submit'], 'Practice');
  if (has(user, 'practice')) can(['read', 'submit'], 'Practice');
};
