import { createHmac } from 'node:crypto';
import { canonicalJson } from '@custodian/audit';
import { ReleaseSpec } from './release.types';

/**
 * The aggregate tier's minimum population, with a keyed margin (SPEC §5 step 5; #27; probe 27).
 *
 * Compared exactly with AGG_MIN_POPULATION, the refusal was a one-person oracle: at 99 persons
 * plus a target, "released" or "refused" told whether the target had a condition, or was a Type 1
 * objector (counted nowhere). Each comparison (the whole table, each value of each dimension) now
 * needs AGG_MIN_POPULATION + an offset in [0, width] (AGG_MIN_POPULATION_MARGIN, default 2 × 7),
 * drawn by HMAC-SHA256 under a server-held key (`ReleaseKeys.aggregateThresholdKey`) over the bid,
 * the request and the comparison:
 *
 * - never fewer than AGG_MIN_POPULATION persons: the offset is never negative (the SPEC's rule,
 *   one-sided, and what the verifier checks from the file);
 * - the same threshold for every release of the same request of the same bid (not per release: a
 *   re-run would draw again, and the share of runs released would give the population away);
 * - not keyed by the persons behind the table: a threshold that moved with one person would draw
 *   again for that person, so the two worlds (with and without them) would differ whenever the
 *   draws did. Keyed by the request alone, a given request's outcome changes at one population only,
 *   which the researcher does not know (the population is not shown exactly either).
 *
 * Only what decides who is counted keys the request (the datasets, the cohort, the dimensions), each
 * list sorted: changing a field or the order of a list draws no new threshold.
 */

/**
 * The request whose comparisons share their thresholds: the bid alone. Keyed by the cohort too, a
 * cohort spelt differently that counts the same persons (`ageMax: 120`, an `eventsFrom` of 1900) drew
 * a new threshold, and each spelling is a narrowing amendment an officer approves alone: sixteen of
 * them told the population (review-27). A new threshold needs a new bid, which the panel decides.
 */
export function aggregateRequest(spec: Pick<ReleaseSpec, 'bidId'>) {
  return canonicalJson({ bid: spec.bidId });
}

/** One comparison of the minimum population: the whole table, or one value of one dimension. */
export type PopulationMargin = { dimension: string; value: string } | null;

/**
 * The fewest persons `margin` of `request` must have behind it: `min` + an offset in [0, width],
 * HMAC-SHA256(key, canonical JSON of the request and the margin), uniform (its bias, 2⁻³² at most,
 * is immaterial).
 */
export function populationThreshold(
  key: Buffer,
  request: string,
  margin: PopulationMargin,
  min: number,
  width: number,
): number {
  if (width <= 0) return min;
  const mac = createHmac('sha256', key).update(canonicalJson({ request, margin })).digest();
  return min + (mac.readUInt32BE(0) % (width + 1));
}
