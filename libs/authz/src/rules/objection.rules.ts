import { has, RulesFile } from './types';

/**
 * Objections through the API: practices only. Any practice registers; which objections a practice
 * may withdraw (its own, or its current patients') is decided in ObjectionsService's query, with
 * one answer for "not yours" and "no such objection" (SPEC §2). A practice reads its own counts.
 */
export const objectionRules: RulesFile = (user, { can }) => {
  if (has(user, 'practice')) can(['create', 'read'], 'Objection');
};
