/**
 * Named queries of the practices library for the libraries that read its tables (STYLE 13): the
 * relation a reader's SQL names, imported from here so the import graph shows the dependency.
 */

/** Patients held at the centre, one row each, with their current registration's demographics. */
export const PATIENTS_SOURCE = 'patients';

/** GP events held (conditions, procedures, medications, observations), one per patient + resource. */
export const GP_EVENTS_SOURCE = 'gp_events';
