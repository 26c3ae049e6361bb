/**
 * Named queries of the bids library for the libraries that read its tables (STYLE 13), beside the
 * statements of bid-queries.ts: the relation a reader's SQL names, imported from here so the import
 * graph shows the dependency.
 */

/** Bids, one row each, in their current state. */
export const BIDS_SOURCE = 'bids';

/** A bid's history: one row per event (state changes with `from_state` / `to_state`). */
export const BID_EVENTS_SOURCE = 'bid_events';

/** A bid's content as approved, one row per version. */
export const BID_VERSIONS_SOURCE = 'bid_versions';

/** Data sharing agreements, one row per bid and version. */
export const AGREEMENTS_SOURCE = 'agreements';
