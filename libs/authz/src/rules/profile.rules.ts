import type { RulesFile } from './types';

/** Every signed-in user may read their own profile and end their own session. */
export const profileRules: RulesFile = (_user, { can }) => {
  can('read', 'Profile');
  can('delete', 'Session');
};
