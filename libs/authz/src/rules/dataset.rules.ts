import type { RulesFile } from '../ability';

/** Every signed-in user may read the dataset catalogue. */
export const datasetRules: RulesFile = (_user, { can }) => {
  can('read', 'Dataset');
};
