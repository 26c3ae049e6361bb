import type { ExtractDropped, ExtractReportDto } from '../dto';
import { IGNORED_PREFIX } from '../fhir';
import { MAX_LISTED_REJECTIONS, otherBucket } from '../rejections';
import type { StreamStats } from '../staging-rows';
import type { IntakeContext } from './context';

/**
 * The report stage: what the lines came to (stats), what the SQL refused (`rej`, counted by reason
 * with the lowest line numbers listed), and the merge's counts, as the upload's answer.
 */
export async function extractReport(
  ix: IntakeContext,
  stats: StreamStats,
  counts: { patients: number; resources: number; objections: number; type1: ExtractDropped['type1'] },
): Promise<ExtractReportDto> {
  const rejected = stats.rejected;
  // A Patient or event line the merge refused (a repeated NHS number, an event whose Patient is not
  // there) stored nothing, so what it lost is no field removed from the extract's stored data: its
  // counts, staged with it, come back out (review, 2026-12-07). Not an objection line: one refused
  // for a subject it names may be applied by another (its NHS number), and keeps its counts. Grouped by text: as many as the refused lines' kinds
  // of loss. Read here, not by jsonb, which refuses some keys a line may carry (`\u0000`).
  const lost: { dropped: string; n: number }[] = await ix.tx.query(
    `SELECT dropped, count(*)::int AS n FROM (
       SELECT DISTINCT ON (s.line) s.dropped FROM stg s
        WHERE s.dropped IS NOT NULL AND s.kind IN ('P', 'E') AND s.line IN (SELECT line FROM rej)
        ORDER BY s.line) d
      GROUP BY dropped`,
  );
  for (const { dropped, n } of lost)
    for (const [key, c] of Object.entries(JSON.parse(dropped) as Record<string, number>)) {
      // Counted in the "other" bucket where the upload had already named as many as it may.
      const k = key in stats.byField ? key : otherBucket(key);
      const left = (stats.byField[k] ?? 0) - c * n;
      if (left > 0) stats.byField[k] = left;
      else delete stats.byField[k];
    }
  const counted = Object.entries(stats.byField).sort(([a], [b]) => a.localeCompare(b));
  const byField = Object.fromEntries(counted.filter(([k]) => !k.startsWith(IGNORED_PREFIX)));
  const ignored = Object.fromEntries(
    counted
      .filter(([k]) => k.startsWith(IGNORED_PREFIX))
      .map(([k, n]) => [k.slice(IGNORED_PREFIX.length), n]),
  );
  const dropped: ExtractDropped = {
    resources: stats.unsupported,
    fields: Object.values(byField).reduce((a, b) => a + b, 0),
    byField,
    type1: counts.type1,
  };
  const refused: { reason: string; n: number; lowest: number[] }[] = await ix.tx.query(
    `SELECT reason, count(*)::int AS n, (array_agg(line ORDER BY line))[1:${MAX_LISTED_REJECTIONS}] AS lowest
       FROM rej GROUP BY reason`,
  );
  for (const r of refused) rejected.addCounted(r.reason, r.n, r.lowest);
  return {
    extractId: ix.extractId,
    patients: counts.patients,
    resources: counts.resources,
    rejected: rejected.lines(),
    rejectedCount: rejected.total,
    rejectedByReason: { ...rejected.byReason },
    objections: counts.objections,
    dropped,
    ignored,
    warnings: stats.warnings ?? [],
  };
}
