import type { LatticeNode } from './k-anonymity';
import { ETHNIC_GROUP, POSTCODE_AREA_REGION } from './reference-data';

/** SQL of the quasi-identifiers: the generalisation ladders, their levels and a person's class. */
/** No generalisation: the finest level of every ladder (levels are lattice nodes). */
export const NO_GENERALISATION: LatticeNode = { age: 0, area: 0, ethnicity: 0 };

/** The quasi-identifiers a release's files carry (anonymised tier: what k-anonymity counts). */
export interface QuasiIdentifiers {
  age: boolean;
  sex: boolean;
  ethnicity: boolean;
  area: boolean;
}

export const level = (n: number) => {
  if (!Number.isInteger(n) || n < 0 || n > 9) throw new Error('generalisation level out of range');
  return String(n);
};

/**
 * The equivalence class of a base cell (`rel_kbase`: the base values, with the ladders' upper
 * rungs stored as `parea`, `region` and `eg`) over the released quasi-identifiers at the given
 * levels (SQL integer expressions), for columns under prefix `p`. Never NULL, so classes compare
 * with `=`.
 */
export function classOf(
  qi: QuasiIdentifiers,
  lvl: { age: string; area: string; ethnicity: string },
  p: string,
) {
  return {
    a: qi.age ? ageKey(lvl.age, `${p}a5`) : '-1',
    r: qi.area ? areaAt(lvl.area, `${p}district`, `${p}parea`, `${p}region`) : `'*'`,
    e: qi.ethnicity ? ethAt(lvl.ethnicity, `${p}eth`, `${p}eg`) : `'*'`,
    s: qi.sex ? `coalesce(${p}sex, 'U')` : `'*'`,
  };
}

/** Levels as SQL literals. */
export const levelSql = (l: LatticeNode) => ({
  age: level(l.age),
  area: level(l.area),
  ethnicity: level(l.ethnicity),
});

/** A JSON object of reference data as an SQL jsonb literal (constants of this code base only). */
function jsonbLiteral(value: Record<string, string>): string {
  return `'${JSON.stringify(value).replace(/'/g, "''")}'::jsonb`;
}
const REGION_OF_AREA = jsonbLiteral(POSTCODE_AREA_REGION);
const GROUP_OF_ETHNICITY = jsonbLiteral(ETHNIC_GROUP);

/**
 * The postcode area (leading letters) of a district, `unknown` for `unknown`. Stored postcodes are
 * normalised (`^[A-Z]{1,2}[0-9]…`), so the area is the first two characters less a digit. The
 * working set keeps the district only: the area, region and ethnic group are derived where they are
 * used (base cells, the suppression, the output), which took two joins and a regular expression
 * per person out of the working set's statement.
 */
export const areaOf = (district: string) =>
  `CASE WHEN ${district} = 'unknown' THEN 'unknown' ELSE rtrim(left(${district}, 2), '0123456789') END`;
/** The region of a postcode area (reference data); `unknown` when it has none. */
export const regionOf = (area: string) => `coalesce(${REGION_OF_AREA} ->> (${area}), 'unknown')`;
/** The ethnic group of an ethnic category (`Z` when missing); `Not stated` when unlisted. */
export const ethnicGroupOf = (eth: string) => `coalesce(${GROUP_OF_ETHNICITY} ->> (${eth}), 'Not stated')`;

// k-anonymity ladders over rp's base quasi-identifiers (a5: five-year lower bound, district,
// eth: ethnic category); `lvl` is an SQL integer expression.
export const ageAt = (lvl: string, a5: string) =>
  `CASE WHEN ${lvl} >= 3 THEN '*' WHEN ${a5} IS NULL THEN 'unknown'
        WHEN ${lvl} = 0 THEN ${a5} || '-' || (${a5} + 4)
        WHEN ${lvl} = 1 THEN (${a5} / 10 * 10) || '-' || (${a5} / 10 * 10 + 9)
        ELSE (${a5} / 20 * 20) || '-' || (${a5} / 20 * 20 + 19) END`;
/**
 * The same partition as `ageAt` as an integer: counting classes over the lattice does not need the
 * band's label, and building a string per person and level is not free. Never NULL: an
 * unknown age is a class of its own (-2; real keys are multiples of 5), because the small-class
 * suppression joins classes with `=`, which a NULL never satisfies.
 */
export const ageKey = (lvl: string, a5: string) =>
  `CASE WHEN ${lvl} >= 3 THEN -1 WHEN ${a5} IS NULL THEN -2 WHEN ${lvl} = 0 THEN ${a5}
        WHEN ${lvl} = 1 THEN ${a5} / 10 * 10 ELSE ${a5} / 20 * 20 END`;
/**
 * The area ladder over a district (`AREA_LEVELS`): postcode area, region, `*` — never the district
 * itself, which is the pseudonymised tier's (SPEC §5; probe 33). Its rungs derived unless given
 * (the base cells store them).
 */
export const areaAt = (lvl: string, district: string, area = areaOf(district), region = regionOf(area)) =>
  `CASE ${lvl} WHEN 0 THEN ${area} WHEN 1 THEN ${region} ELSE '*' END`;
/** The ethnicity ladder over a category; the group derived unless given. */
export const ethAt = (lvl: string, eth: string, group = ethnicGroupOf(eth)) =>
  `CASE ${lvl} WHEN 0 THEN ${eth} WHEN 1 THEN ${group} ELSE '*' END`;
