/**
 * Named query of the release library for the libraries that read its tables (STYLE 13): the
 * relation a reader's SQL names, imported from here so the import graph shows the dependency.
 */

/** Releases, one row per release of a bid (state, tier, counts, times). */
export const RELEASES_SOURCE = 'releases';
