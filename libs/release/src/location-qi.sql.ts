import type { Dataset } from '@custodian/catalog';
import { locationKey, regionOfLocation, suppressedPairMarker } from './location-qi';
import { DATASET_SQL, dateFilter, EventRange, FILE_BIT } from './release-sql';

/**
 * The SQL of k-anonymity over location columns (location-qi.ts), run by the engine's `kAnonymise`
 * in the preparation's transaction, where `rp` is the person table (view) and `rel_blocked` the
 * blocked NHS numbers. Set-based throughout: no row passes through Node.
 */

/** A person's base cell (the stored quasi-identifier values, constants for those not released). */
export interface PersonCell {
  a5: string;
  sex: string;
  eth: string;
  district: string;
}

/**
 * `rel_kloc`: the distinct (file, person, location as held) pairs of the rows each location file
 * would carry — the same rows as the file's SELECT (included persons with rows in the file, the
 * event date range, no row of a blocked NHS number), before any suppression — with the person's
 * base cell (`cell`, columns of `rp`), so nothing joins the person table again. DISTINCT: a person
 * with two episodes at one provider is one pair (counted twice, their class would look larger than
 * it is).
 */
export function locationPairsTable(
  locations: Partial<Record<Dataset, string>>,
  range: EventRange,
  cell: PersonCell,
): string {
  const parts = (Object.entries(locations) as [Dataset, string][]).map(([d, field]) => {
    const s = DATASET_SQL[d];
    return `SELECT DISTINCT '${d}'::text AS dataset, rp.nhs, ${cell.a5} AS a5, ${cell.sex} AS sex, ${cell.eth} AS eth,
                   ${cell.district} AS district, ${locationKey(s.event[field].expr)} AS loc
              FROM ${s.from}
             WHERE rp.excl IS NULL AND rp.files & ${FILE_BIT[d]} <> 0
               AND ${dateFilter(s.date, range)} AND NOT ${s.blockedOwn}`;
  });
  return `CREATE TEMP TABLE rel_kloc ON COMMIT DROP AS ${parts.join(' UNION ALL ')}`;
}

/** A location class key at level 1 (the region) of `rel_kloc`'s `loc`, for whichever file the row is of. */
function regionOfPair(locations: Partial<Record<Dataset, string>>, dataset: string, loc: string): string {
  const cases = (Object.keys(locations) as Dataset[])
    .map((d) => `WHEN '${d}' THEN ${regionOfLocation(d, loc)}`)
    .join(' ');
  return `CASE ${dataset} ${cases} END`;
}

/**
 * The base rows of the location files for `rel_kbase`: per file, location level `ll` (0 as held,
 * 1 region, 2 `*`) and person, each distinct class key of the person's locations at that level with
 * the person's base cell. Grouped and counted by the caller, each level counts distinct persons per
 * (cell, location): a person with two providers of one region is one person of that region's
 * class, not two.
 */
export function locationBaseRows(locations: Partial<Record<Dataset, string>>): string {
  const cols = 'dataset, a5, sex, eth, district';
  return `SELECT ${cols}, 0 AS ll, loc FROM rel_kloc
          UNION ALL
          SELECT ${cols}, 1, loc FROM (
            SELECT DISTINCT ${cols}, nhs, ${regionOfPair(locations, 'dataset', 'loc')} AS loc FROM rel_kloc) r
          UNION ALL
          SELECT ${cols}, 2, '*' FROM (SELECT DISTINCT ${cols}, nhs FROM rel_kloc) p`;
}

/**
 * Suppresses the person-location pairs of a location file in classes smaller than k at its chosen
 * level `ll` (0 or 1; listed in `rel_small` with their base cell and location key): each such
 * pair's marker goes into the person's `ksup` (the file's SELECT leaves those rows out), and a
 * person with no pair left loses the file (its bit in `files`). Returns the persons who lost a row
 * (`touched`) and, of them, those who lost the file (`removed`).
 */
export function suppressPairs(workRp: string, dataset: Dataset, ll: number): string {
  if (ll !== 0 && ll !== 1) throw new Error('pairs are suppressed at levels 0 and 1 only');
  const key = ll === 0 ? 'q.loc' : regionOfLocation(dataset, 'q.loc');
  return `WITH pairs AS (
      SELECT DISTINCT q.nhs, coalesce(q.a5, -1) AS a5, q.sex, q.eth, q.district, ${key} AS loc
        FROM rel_kloc q WHERE q.dataset = '${dataset}'
    ), marked AS (
      SELECT p.nhs, p.loc, (p.a5, p.sex, p.eth, p.district, p.loc)
               IN (SELECT a5, sex, eth, district, loc FROM rel_small WHERE dataset = '${dataset}') AS small
        FROM pairs p
    ), hit AS (
      SELECT nhs, array_agg(${suppressedPairMarker(dataset, 'loc')}) FILTER (WHERE small) AS gone,
             bool_and(small) AS all_gone
        FROM marked GROUP BY nhs HAVING bool_or(small)
    ), upd AS (
      UPDATE ${workRp} w SET ksup = coalesce(w.ksup, '{}') || hit.gone,
             files = CASE WHEN hit.all_gone THEN w.files & ~${FILE_BIT[dataset]} ELSE w.files END
        FROM hit WHERE w.nhs = hit.nhs AND w.excl IS NULL
      RETURNING hit.all_gone
    )
    SELECT count(*)::bigint AS touched, count(*) FILTER (WHERE all_gone)::bigint AS removed FROM upd`;
}
