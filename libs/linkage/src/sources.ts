/**
 * Named queries of the linkage library for the libraries that read its tables (STYLE 13): the
 * relation a reader's SQL names, imported from here so the import graph shows the dependency.
 */

/** HES admitted patient care episodes as loaded, with the patient each is linked to (or none). */
export const HES_EPISODES_SOURCE = 'hes_episodes';

/** Social-care records as loaded, with the patient each is linked to (or none). */
export const SOCIAL_CARE_SOURCE = 'social_care_records';
