import type { RulesFile } from './types';

/**
 * A user who holds any role may read their own notices and mark them read (the service scopes by
 * owner: another user's notice is 404). A user with no role yet (governance roles pending) has none.
 */
export const notificationRules: RulesFile = (user, { can }) => {
  if (user.roles.length === 0) return;
  can('read', 'Notification');
  can('update', 'Notification');
};
