/**
 * Reference data for generalisation ladders: postcode area → region (ONS regions of England, and
 * the nations; an area that straddles a boundary is put where most of its addresses are), and
 * the NHS data dictionary ethnic category (A–Z) → ethnic group.
 */
const REGIONS: Record<string, string[]> = {
  'North East': ['DH', 'DL', 'NE', 'SR', 'TS'],
  'North West': ['BB', 'BL', 'CA', 'CH', 'CW', 'FY', 'L', 'LA', 'M', 'OL', 'PR', 'SK', 'WA', 'WN'],
  'Yorkshire and The Humber': ['BD', 'DN', 'HD', 'HG', 'HU', 'HX', 'LS', 'S', 'WF', 'YO'],
  'East Midlands': ['DE', 'LE', 'LN', 'NG', 'NN'],
  'West Midlands': ['B', 'CV', 'DY', 'HR', 'ST', 'SY', 'TF', 'WR', 'WS', 'WV'],
  'East of England': ['AL', 'CB', 'CM', 'CO', 'EN', 'IP', 'LU', 'NR', 'PE', 'SG', 'SS', 'WD'],
  London: ['E', 'EC', 'N', 'NW', 'SE', 'SW', 'W', 'WC', 'BR', 'CR', 'HA', 'IG', 'RM', 'SM', 'TW', 'UB'],
  'South East': ['BN', 'CT', 'DA', 'GU', 'HP', 'KT', 'ME', 'MK', 'OX', 'PO', 'RG', 'RH', 'SL', 'SO', 'TN'],
  'South West': ['BA', 'BH', 'BS', 'DT', 'EX', 'GL', 'PL', 'SN', 'SP', 'TA', 'TQ', 'TR'],
  Wales: ['CF', 'LD', 'LL', 'NP', 'SA'],
  Scotland: ['AB', 'DD', 'DG', 'EH', 'FK', 'G', 'HS', 'IV', 'KA', 'KW', 'KY', 'ML', 'PA', 'PH', 'TD', 'ZE'],
  'Northern Ireland': ['BT'],
  'Channel Islands and Isle of Man': ['GY', 'JE', 'IM'],
};

/** Postcode area (the leading letters) → region. Unknown areas (and ZZ pseudo-postcodes) map to `unknown`. */
export const POSTCODE_AREA_REGION: Record<string, string> = Object.fromEntries(
  Object.entries(REGIONS).flatMap(([region, areas]) => areas.map((a) => [a, region])),
);

/** NHS data dictionary ethnic category → group. Missing or unlisted codes are `Not stated`. */
export const ETHNIC_GROUP: Record<string, string> = {
  A: 'White',
  B: 'White',
  C: 'White',
  D: 'Mixed',
  E: 'Mixed',
  F: 'Mixed',
  G: 'Mixed',
  H: 'Asian',
  J: 'Asian',
  K: 'Asian',
  L: 'Asian',
  M: 'Black',
  N: 'Black',
  P: 'Black',
  R: 'Other',
  S: 'Other',
  Z: 'Not stated',
};
