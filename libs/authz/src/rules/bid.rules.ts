import { has, RulesFile } from './types';

/**
 * Bids and their agreements. Record-level rules (own organisation, state, recusal, segregation of
 * duties) are enforced in the bids services; these open the routes by role.
 */
export const bidRules: RulesFile = (user, { can, cannot }) => {
  if (has(user, 'researcher')) {
    can(['create', 'read', 'update', 'upload', 'submit', 'withdraw'], 'Bid');
    can(['accept', 'withdraw'], 'Agreement');
  }
  if (has(user, 'panel_member')) can(['read', 'vote'], 'Bid');
  if (has(user, 'release_officer')) can(['read', 'screen'], 'Bid');
  if (has(user, 'auditor')) can('read', 'Bid');
  if (has(user, 'admin')) {
    can('read', 'Bid');
    can('revoke', 'Agreement');
    // SPEC §1: the administrator never votes, whatever other roles they hold.
    cannot('vote', 'Bid');
  }
};
