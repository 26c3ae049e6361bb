import { has, RulesFile } from './types';

/** Extracts: a practice uploads its own and reads their reports; admins and data managers read reports. */
export const extractRules: RulesFile = (user, { can }) => {
  if (has(user, 'practice')) can(['upload', 'read'], 'Extract');
  if (has(user, 'admin') || has(user, 'data_manager')) can('read', 'Extract');
};
