import { has, RulesFile } from './types';

/** HES and social-care loads and their linkage reports: the centre's data managers only. */
export const sourceRules: RulesFile = (user, { can }) => {
  if (has(user, 'data_manager')) can(['upload', 'read'], 'Source');
};
