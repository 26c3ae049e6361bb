import type { RulesFile } from './types';

/**
 * Every signed-in user who holds a role may read the dataset catalogue. A user with none (their
 * governance roles still waiting for approval, issue #28) is denied like anyone else.
 */
export const datasetRules: RulesFile = (user, { can }) => {
  if (user.roles.length) can('read', 'Dataset');
};
