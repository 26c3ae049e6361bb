import type { RulesFile } from './types';

/** Every signed-in user may read their own notices and mark them read (the service scopes by owner: 404 otherwise). */
export const notificationRules: RulesFile = (_user, { can }) => {
  can('read', 'Notification');
  can('update', 'Notification');
};
