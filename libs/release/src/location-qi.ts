import type { Dataset } from '@custodian/catalog';

/**
 * Location quasi-identifiers of the anonymised tier (SPEC §5 step 4, issue #19): the columns of a
 * file that say where a person was seen, each with its own generalisation ladder — as held → the
 * location's region → `*` (`LOCATION_LEVELS` in k-anonymity.ts). GP practice is not one of them:
 * `practice_ods` is never in an anonymised file. Event dates stay year-month here (their ladder is
 * the event-item work of kᵐ-anonymity).
 *
 * The class rule for a file of a row per event, where one person can have several locations: the
 * equivalence class is over (the person's quasi-identifiers, the location at the chosen level),
 * one class per person-location pair, counted in distinct persons. A pair in a class smaller than
 * k has its rows taken out of the file (the person keeps their other rows); a person with no pair
 * left is out of the file. See docs/RELEASE.md, "Locations".
 */
export const LOCATION_QI_FIELD: Partial<Record<Dataset, string>> = {
  hes: 'provider_code',
  social_care: 'la_code',
};

/** The location quasi-identifier each requested file carries (dataset → field), anonymised tier only. */
export function locationQis(
  datasets: { dataset: Dataset; fields: string[] }[],
): Partial<Record<Dataset, string>> {
  const out: Partial<Record<Dataset, string>> = {};
  for (const d of datasets) {
    const f = LOCATION_QI_FIELD[d.dataset];
    if (f && d.fields.includes(f)) out[d.dataset] = f;
  }
  return out;
}

/**
 * HES provider (ODS organisation code of the trust, `PROCODE`) → ONS region of the trust's
 * headquarters, as in the postcode ladder (`reference-data.ts`). Compiled by hand from the ODS
 * list of NHS trusts for the acute trusts of England; a site code (five characters, `RR801`)
 * takes its trust's region (its first three). A provider not listed — an independent-sector
 * provider, a trust code that is not here — is in region `unknown`: still a deterministic
 * generalisation (every such provider shares one class), coarser than it need be. Extend the table
 * as providers appear in the loads (`SELECT DISTINCT provider_code FROM hes_episodes`).
 */
const PROVIDERS_BY_REGION: Record<string, string[]> = {
  'North East': ['RTD', 'RTR', 'RXP', 'RR7', 'RTF', 'RVW', 'R0B', 'RLN', 'RE9'],
  'North West': [
    'R0A',
    'REM',
    'RBL',
    'RM3',
    'RMC',
    'RRF',
    'RWJ',
    'RVY',
    'RBN',
    'RXL',
    'RXN',
    'RXR',
    'RTX',
    'RBT',
    'RJR',
    'RWW',
    'RBQ',
    'REP',
    'RBS',
    'RW6',
    'RNN',
  ],
  'Yorkshire and The Humber': [
    'RR8',
    'RAE',
    'RHQ',
    'RWY',
    'RXF',
    'RCB',
    'RWA',
    'RFF',
    'RP5',
    'RFR',
    'RCF',
    'RCD',
    'RJL',
  ],
  'East Midlands': ['RTG', 'RX1', 'RWE', 'RWD', 'RNS', 'RNQ', 'RK5', 'RFS'],
  'West Midlands': [
    'RRK',
    'RXK',
    'RKB',
    'RL4',
    'RNA',
    'RBK',
    'RJE',
    'RWP',
    'RLQ',
    'RXW',
    'RJC',
    'RLT',
    'RQ3',
  ],
  'East of England': [
    'RGT',
    'RGN',
    'RM1',
    'RGP',
    'RCX',
    'RDE',
    'RAJ',
    'RQW',
    'RWG',
    'RWH',
    'RC9',
    'RGR',
    'RGM',
  ],
  London: [
    'RJ1',
    'RYJ',
    'R1H',
    'RRV',
    'RAL',
    'RJZ',
    'RJ7',
    'RQM',
    'R1K',
    'RF4',
    'RAX',
    'RVR',
    'RJ6',
    'RJ2',
    'RAP',
    'RKE',
    'RQX',
    'RAS',
  ],
  'South East': [
    'RTH',
    'RHM',
    'RHU',
    'RXQ',
    'RHW',
    'RTK',
    'RA2',
    'RTP',
    'RYR',
    'RXC',
    'RWF',
    'RVV',
    'RPA',
    'RN7',
    'RN5',
    'RDU',
    'R1F',
    'RD8',
  ],
  'South West': [
    'RA7',
    'RVJ',
    'RH8',
    'RK9',
    'REF',
    'RA9',
    'RBA',
    'RN3',
    'RNZ',
    'RD1',
    'RTE',
    'RBD',
    'R0D',
    'RA4',
  ],
};

/**
 * Local authority (ONS code, `LA_CODE`) → ONS region. The metropolitan districts (E08) are listed;
 * the London boroughs (E09), Wales (W), Scotland (S) and Northern Ireland (N) go by their code's
 * prefix; the county councils the synthetic data uses are listed. Any other code is in region
 * `unknown` (as for providers). Source: the ONS local authority district to region lookup.
 */
const LAS_BY_REGION: Record<string, string[]> = {
  'North West': [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15].map((n) => e08(n)),
  'Yorkshire and The Humber': [16, 17, 18, 19, 32, 33, 34, 35, 36].map((n) => e08(n)),
  'North East': [20, 21, 22, 23, 24, 37].map((n) => e08(n)),
  'West Midlands': [25, 26, 27, 28, 29, 30, 31].map((n) => e08(n)),
  'South East': ['E10000025'], // Oxfordshire
};
function e08(n: number): string {
  return `E08${String(n).padStart(6, '0')}`;
}
export const LA_PREFIX_REGION: Record<string, string> = {
  E09: 'London',
  W: 'Wales',
  S: 'Scotland',
  N: 'Northern Ireland',
};

const invert = (byRegion: Record<string, string[]>): Record<string, string> =>
  Object.fromEntries(Object.entries(byRegion).flatMap(([region, codes]) => codes.map((c) => [c, region])));

/** Provider (trust) code → region. */
export const PROVIDER_REGION: Record<string, string> = invert(PROVIDERS_BY_REGION);
/** Local authority code → region (listed codes; see `laRegion` for the prefixes). */
export const LA_REGION: Record<string, string> = invert(LAS_BY_REGION);

/** The region of a provider code as the SQL ladder computes it (for tests and documentation). */
export function providerRegion(code: string | null): string {
  if (code === null) return 'unknown';
  return PROVIDER_REGION[code] ?? PROVIDER_REGION[code.slice(0, 3)] ?? 'unknown';
}

/** The region of a local authority code as the SQL ladder computes it. */
export function laRegion(code: string | null): string {
  if (code === null) return 'unknown';
  return (
    LA_REGION[code] ?? LA_PREFIX_REGION[code.slice(0, 3)] ?? LA_PREFIX_REGION[code.slice(0, 1)] ?? 'unknown'
  );
}

/** A JSON object of reference data as an SQL jsonb literal (constants of this code base only). */
const jsonb = (value: Record<string, string>) => `'${JSON.stringify(value).replace(/'/g, "''")}'::jsonb`;
const PROVIDER_REGION_SQL = jsonb(PROVIDER_REGION);
const LA_REGION_SQL = jsonb(LA_REGION);
const LA_PREFIX_SQL = jsonb(LA_PREFIX_REGION);

/**
 * A location's key at the bottom rung: the value as held, `unknown` when missing (never NULL, so
 * classes compare with `=`; codes are upper-case, so no code is `unknown`).
 */
export const locationKey = (expr: string) => `coalesce(${expr}, 'unknown')`;

/** The region of a location key (`locationKey`) of the dataset's location column, in SQL. */
export function regionOfLocation(dataset: Dataset, key: string): string {
  if (dataset === 'hes')
    return `coalesce(${PROVIDER_REGION_SQL} ->> (${key}), ${PROVIDER_REGION_SQL} ->> left(${key}, 3), 'unknown')`;
  if (dataset === 'social_care')
    return `coalesce(${LA_REGION_SQL} ->> (${key}), ${LA_PREFIX_SQL} ->> left(${key}, 3), ${LA_PREFIX_SQL} ->> left(${key}, 1), 'unknown')`;
  throw new Error(`${dataset} has no location quasi-identifier`);
}

/** A checked ladder level (it is written into SQL text). */
export function locationLevel(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 2) throw new Error('location level out of range');
  return n;
}

/**
 * The class key of a location at a level (0 as held, 1 region, 2 `*`): what the lattice counts and
 * the small-pair suppression matches. Never NULL.
 */
export function locationClassKey(dataset: Dataset, expr: string, level: number): string {
  switch (locationLevel(level)) {
    case 0:
      return locationKey(expr);
    case 1:
      return regionOfLocation(dataset, locationKey(expr));
    default:
      return `'*'`;
  }
}

/**
 * The released value of a location column in the anonymised tier at a level: as held (a missing
 * value stays empty; `safe` wraps it as every source text cell is), the region, or `*`. The same
 * partition as `locationClassKey`.
 */
export function locationOutput(
  dataset: Dataset,
  expr: string,
  level: number,
  safe: (e: string) => string,
): string {
  switch (locationLevel(level)) {
    case 0:
      return safe(expr);
    case 1:
      return regionOfLocation(dataset, locationKey(expr));
    default:
      return `'*'`;
  }
}

/**
 * The marker of a suppressed person-location pair in the working set's `ksup` array
 * (`<dataset>:<class key>`), as the suppression writes it and the file's SELECT tests it.
 */
export const suppressedPairMarker = (dataset: Dataset, classKey: string) => `('${dataset}:' || ${classKey})`;

/**
 * The condition a file's SELECT adds for a location file at a level below `*`: the row's
 * person-location pair was not suppressed (its marker is not in the person's `ksup`). At `*` the
 * pair is the person, whose whole file entry the suppression clears instead.
 */
export function pairKept(dataset: Dataset, expr: string, level: number): string {
  if (locationLevel(level) >= 2) return 'true';
  return `(rp.ksup IS NULL OR NOT ${suppressedPairMarker(dataset, locationClassKey(dataset, expr, level))} = ANY(rp.ksup))`;
}
