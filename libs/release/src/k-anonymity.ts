/**
 * k-anonymity over the quasi-identifiers age, sex, ethnicity and area (SPEC §5 step 4). The class
 * sizes for every node of the generalisation lattice are computed set-based in SQL (see
 * release.engine.ts); this file holds the ladders and the pure choice of the node.
 */
export const AGE_LEVELS = ['five_year', 'ten_year', 'twenty_year', 'suppressed'] as const;
export const AREA_LEVELS = ['district', 'postcode_area', 'region', 'suppressed'] as const;
export const ETHNICITY_LEVELS = ['category', 'group', 'suppressed'] as const;

export interface LatticeNode {
  age: number;
  area: number;
  ethnicity: number;
}

export interface NodeStats extends LatticeNode {
  /** Persons in equivalence classes smaller than k at this node. */
  suppressed: number;
}

export interface KAnonChoice extends NodeStats {
  levels: { age: string; area: string; ethnicity: string };
}

/**
 * The least generalised node (lowest total ladder height) whose suppression stays within
 * `maxShare` of the population; ties go to fewer suppressed persons, then to keeping age finest,
 * then area. Undefined when no node qualifies (the release must then fail).
 */
export function chooseNode(
  stats: NodeStats[],
  population: number,
  maxShare: number,
): KAnonChoice | undefined {
  const allowed = Math.floor(population * maxShare);
  const best = stats
    .filter((s) => s.suppressed <= allowed)
    .sort(
      (a, b) =>
        a.age + a.area + a.ethnicity - (b.age + b.area + b.ethnicity) ||
        a.suppressed - b.suppressed ||
        a.age - b.age ||
        a.area - b.area ||
        a.ethnicity - b.ethnicity,
    )[0];
  if (!best) return undefined;
  return {
    ...best,
    levels: {
      age: AGE_LEVELS[best.age],
      area: AREA_LEVELS[best.area],
      ethnicity: ETHNICITY_LEVELS[best.ethnicity],
    },
  };
}

/** Five-year band of an age, `40-44`, and its generalisations. */
export function ageBand(age: number, level: number): string {
  if (level >= 3) return '*';
  const width = [5, 10, 20][level];
  const lo = Math.floor(age / width) * width;
  return `${lo}-${lo + width - 1}`;
}
