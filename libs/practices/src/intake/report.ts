import type { ExtractDropped, ExtractReportDto } from '../dto';
import { IGNORED_PREFIX } from '../fhir';
import { MAX_LISTED_REJECTIONS } from '../rejections';
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
