import { PRIMARY_MAX, ROUND_TO, shownSmall } from './disclosure-control';
import { CODE_LEVELS, PERIOD_LEVELS } from './km-anonymity';
import type { KmResult } from './km-anonymise';

/**
 * The manifest's `kmAnonymity` section (researchers read it: counts of rows follow the aggregate
 * rule, as counts of persons do; shares to 0.1 %). The exact figures are on the release for staff
 * (`excluded.kmAnonymity`).
 */
export function kmManifest(km: KmResult) {
  const kept = Object.values(km.rowsByNode).reduce((a, b) => a + b, 0);
  const share = (n: number) => (kept ? Math.round((n / kept) * 1000) / 10 : 0);
  // Every file of a row per event listed, 0 to 7 alike as `*` (a file left out, or `0`, beside `*`
  // said whether anyone was: review-27).
  const files = [
    ...new Set([
      ...Object.keys(km.suppressedByFile),
      ...Object.keys(km.generalisedByFile),
      ...Object.keys(km.rowsByFile),
    ]),
  ];
  const shown = (o: Record<string, number>) =>
    Object.fromEntries(files.map((d) => [d, shownSmall(o[d] ?? 0)]));
  return {
    k: km.k,
    m: km.m,
    items:
      'per file of a row per event: the dataset and its event columns as released (event type, code system, code, dates; the location column at its level)',
    ladders: { code: [...CODE_LEVELS], period: [...PERIOD_LEVELS] },
    // Each demographic class has its own (code, period) levels: how many classes took each, and
    // the share of the rows kept at it.
    levels: Object.entries(km.classesByNode).map(([node, classes]) => {
      const [code, period] = node.split('/');
      return { code, period, classes, rowsSharePercent: share(km.rowsByNode[node] ?? 0) };
    }),
    rowsSuppressedByFile: shown(km.suppressedByFile),
    rowsGeneralisedByFile: shown(km.generalisedByFile),
    counting: `every set of at most m items a person carries is carried by at least k persons of their demographic class; counts of rows shown as * for 0-${PRIMARY_MAX}, else rounded to the nearest ${ROUND_TO}`,
  };
}
