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
  /** Person-file entries in equivalence classes smaller than k at this node, all files together. */
  suppressed: number;
  /** The same, per file (dataset); a file absent suppresses nobody. */
  suppressedByFile: Record<string, number>;
}

export interface KAnonChoice extends NodeStats {
  levels: { age: string; area: string; ethnicity: string };
}

/**
 * Whether a node keeps every file within the suppression budget: at most `maxShare` of that
 * file's persons (`populations`, persons per file) — a cap per file, not pooled across files, so a
 * small file cannot lose most of its people inside a large file's allowance.
 */
export function withinBudget(s: NodeStats, populations: Record<string, number>, maxShare: number): boolean {
  return Object.entries(populations).every(
    ([file, pop]) => (s.suppressedByFile[file] ?? 0) <= Math.floor(pop * maxShare),
  );
}

/**
 * The least generalised node (lowest total ladder height) that keeps every file within the
 * suppression budget; ties go to fewer suppressed persons, then to keeping age finest, then area.
 * Undefined when no node qualifies (the release must then fail).
 */
export function chooseNode(
  stats: NodeStats[],
  populations: Record<string, number>,
  maxShare: number,
): KAnonChoice | undefined {
  const best = stats
    .filter((s) => withinBudget(s, populations, maxShare))
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

/**
 * Where no node qualifies: the file and node that come closest (the smallest share of a file's
 * persons suppressed, over the files each node breaks), for the failure reason.
 */
export function closestMiss(
  stats: NodeStats[],
  populations: Record<string, number>,
): { file: string; suppressed: number; population: number } | undefined {
  let best: { file: string; suppressed: number; population: number } | undefined;
  let bestWorst = Infinity;
  for (const s of stats) {
    let worst: { file: string; suppressed: number; population: number; share: number } | undefined;
    for (const [file, population] of Object.entries(populations)) {
      const suppressed = s.suppressedByFile[file] ?? 0;
      const share = population ? suppressed / population : 0;
      if (!worst || share > worst.share) worst = { file, suppressed, population, share };
    }
    if (worst && worst.share < bestWorst) {
      bestWorst = worst.share;
      best = { file: worst.file, suppressed: worst.suppressed, population: worst.population };
    }
  }
  return best;
}

/** Five-year band of an age, `40-44`, and its generalisations. */
export function ageBand(age: number, level: number): string {
  if (level >= 3) return '*';
  const width = [5, 10, 20][level];
  const lo = Math.floor(age / width) * width;
  return `${lo}-${lo + width - 1}`;
}
