import { has, RulesFile } from './types';

/**
 * Releases: the release officer reads every release (and generates them); admins and auditors
 * read them; researchers read and download — the service then admits only the release's named
 * recipients (anyone else gets 404).
 */
export const releaseRules: RulesFile = (user, { can, cannot }) => {
  if (has(user, 'release_officer')) can(['read', 'release'], 'Release');
  if (has(user, 'admin') || has(user, 'auditor')) can('read', 'Release');
  if (has(user, 'researcher')) can(['read', 'download'], 'Release');
  // SPEC §1: the administrator never releases, whatever other roles they hold.
  if (has(user, 'admin')) cannot('release', 'Release');
};
