/**
 * k-anonymity over the quasi-identifiers age, sex, ethnicity and area, and each file's location
 * column (HES provider, social-care local authority; location-qi.ts) (SPEC §5 step 4). The class
 * sizes for every node of the generalisation lattice are computed set-based in SQL (see
 * engine/k-anonymise.ts); this file holds the ladders and the pure choice of the node.
 */
export const AGE_LEVELS = ['five_year', 'ten_year', 'twenty_year', 'suppressed'] as const;
/**
 * The area ladder starts at the postcode area: SPEC §5's tier table gives the anonymised tier "area
 * or region", the district (outward code) being the pseudonymised tier's (probe 33).
 */
export const AREA_LEVELS = ['postcode_area', 'region', 'suppressed'] as const;
export const ETHNICITY_LEVELS = ['category', 'group', 'suppressed'] as const;
/** A location column's ladder (HES `provider_code`, social-care `la_code`; see location-qi.ts). */
export const LOCATION_LEVELS = ['as_held', 'region', 'suppressed'] as const;

export interface LatticeNode {
  age: number;
  area: number;
  ethnicity: number;
  /**
   * The level of each file's location column (dataset → index in `LOCATION_LEVELS`), for the files
   * that carry one. A file that carries one without a level here is written at `*` (fail closed).
   */
  location?: Record<string, number>;
}

export interface NodeStats extends LatticeNode {
  /** Person-file entries in equivalence classes smaller than k at this node, all files together. */
  suppressed: number;
  /** The same, per file (dataset); a file absent suppresses nobody. */
  suppressedByFile: Record<string, number>;
}

export interface KAnonChoice extends NodeStats {
  /** Ladder levels by name: age, area, ethnicity, and each location column by its field name. */
  levels: { age: string; area: string; ethnicity: string } & Record<string, string>;
}

/** A node's total generalisation: the sum of its ladder levels, location columns included. */
export function nodeHeight(n: LatticeNode): number {
  return n.age + n.area + n.ethnicity + Object.values(n.location ?? {}).reduce((a, b) => a + b, 0);
}

/**
 * Suppression counted for one file at a node of the person quasi-identifiers (`age`, `area`,
 * `ethnicity`) and that file's location level (`ll`; 0 for a file without a location column), as
 * the lattice's SQL returns it. For a location file it counts person-location pairs in classes
 * smaller than k — at least the persons who lose a row, so the budget is never understated.
 */
export interface FileNodeStats {
  age: number;
  area: number;
  ethnicity: number;
  dataset: string;
  ll: number;
  suppressed: number;
}

/**
 * The lattice nodes of a release from per-file counts: each node of the person quasi-identifiers
 * combined with every choice of level for each location file (files' locations are independent of
 * one another, so a file's count depends on its own level only). A location file with no row at a
 * node (no persons) is at level 0, suppressing nobody.
 */
export function combineNodes(rows: FileNodeStats[], locationFiles: string[]): NodeStats[] {
  const byNode = new Map<string, { node: LatticeNode; files: Map<string, Map<number, number>> }>();
  for (const r of rows) {
    const key = `${r.age}:${r.area}:${r.ethnicity}`;
    const entry = byNode.get(key) ?? {
      node: { age: r.age, area: r.area, ethnicity: r.ethnicity },
      files: new Map<string, Map<number, number>>(),
    };
    const levels = entry.files.get(r.dataset) ?? new Map<number, number>();
    levels.set(r.ll, (levels.get(r.ll) ?? 0) + r.suppressed);
    entry.files.set(r.dataset, levels);
    byNode.set(key, entry);
  }
  const out: NodeStats[] = [];
  for (const { node, files } of byNode.values()) {
    let partial: { location: Record<string, number>; byFile: Record<string, number> }[] = [
      { location: {}, byFile: {} },
    ];
    for (const [dataset, levels] of files)
      if (!locationFiles.includes(dataset)) for (const p of partial) p.byFile[dataset] = levels.get(0) ?? 0;
    for (const dataset of locationFiles) {
      const levels = files.get(dataset) ?? new Map([[0, 0]]);
      partial = partial.flatMap((p) =>
        [...levels].map(([ll, n]) => ({
          location: { ...p.location, [dataset]: ll },
          byFile: { ...p.byFile, [dataset]: n },
        })),
      );
    }
    for (const p of partial)
      out.push({
        ...node,
        ...(locationFiles.length ? { location: p.location } : {}),
        suppressed: Object.values(p.byFile).reduce((a, b) => a + b, 0),
        suppressedByFile: p.byFile,
      });
  }
  return out;
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
  /** The location column of each location file (dataset → field name), naming its level. */
  locationFields: Record<string, string> = {},
): KAnonChoice | undefined {
  const best = stats
    .filter((s) => withinBudget(s, populations, maxShare))
    .sort(
      (a, b) =>
        nodeHeight(a) - nodeHeight(b) ||
        a.suppressed - b.suppressed ||
        a.age - b.age ||
        a.area - b.area ||
        a.ethnicity - b.ethnicity ||
        nodeHeight({ ...a, age: 0, area: 0, ethnicity: 0 }) -
          nodeHeight({ ...b, age: 0, area: 0, ethnicity: 0 }),
    )[0];
  if (!best) return undefined;
  return {
    ...best,
    levels: {
      age: AGE_LEVELS[best.age],
      area: AREA_LEVELS[best.area],
      ethnicity: ETHNICITY_LEVELS[best.ethnicity],
      ...Object.fromEntries(
        Object.entries(best.location ?? {}).map(([d, l]) => [locationFields[d] ?? d, LOCATION_LEVELS[l]]),
      ),
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
