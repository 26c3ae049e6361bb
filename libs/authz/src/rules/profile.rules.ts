import type { RulesFile } from '../ability';

/** Every signed-in user may read their own profile and end their own session. */
export const profileRules: RulesFile = (_user, { can }) => {
  can('read', 'Profile');
  can('delete', 'Session');
};
