import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Seconds each of the slowest files (9 s or more) took in a clean clone's CI run (2026-12-07 at
 * 5464e2b, `.ci/run`, 1,676 tests, 537 s): the order the files start in where vitest has no results
 * of its own yet (a fresh clone, CI). There vitest starts the largest files first, and several of
 * the slowest (a 30 s database outage, a worker killed, child processes waited on) started in the
 * run's last third, where the three workers then ran them nearly alone (docs/DEVELOPING.md,
 * "Order"). Twelve files of 9-23 s were missing from the table of the earlier run. A stale figure
 * only moves a file in the order.
 */
const MEASURED_SECONDS: Record<string, number> = {
  'test/release-crash-20.e2e-spec.ts': 54,
  'test/worker-outage.e2e-spec.ts': 51,
  'test/release-random-populations.e2e-spec.ts': 48,
  'test/portal/journeys.e2e-spec.ts': 34,
  'test/notifications.e2e-spec.ts': 33,
  'test/lifecycle.e2e-spec.ts': 31,
  'test/portal/operations-journey.e2e-spec.ts': 28,
  'test/portal/researcher-officer-panel-journey.e2e-spec.ts': 28,
  'test/audit.e2e-spec.ts': 27,
  'test/release-shard-lease.e2e-spec.ts': 26,
  'test/release-risk-tally.e2e-spec.ts': 26,
  'test/portal/narrow-titles.e2e-spec.ts': 24,
  'test/release-crash-aggregate.e2e-spec.ts': 23,
  'test/slow-clients.e2e-spec.ts': 21,
  'test/objection-authority.e2e-spec.ts': 21,
  'test/release-shards.e2e-spec.ts': 21,
  'test/download-stop.e2e-spec.ts': 19,
  'test/release-km-search.e2e-spec.ts': 18,
  'test/extracts-memory.e2e-spec.ts': 16,
  'test/release-verifier.e2e-spec.ts': 16,
  'libs/release/src/verifier/km-check.spec.ts': 16,
  'test/review21-objection-id-other-type.e2e-spec.ts': 16,
  'test/release-properties.e2e-spec.ts': 16,
  'test/fuzz.e2e-spec.ts': 16,
  'test/audit-denials.e2e-spec.ts': 15,
  'test/objection-resend-undated.e2e-spec.ts': 15,
  'test/openapi-sweep.e2e-spec.ts': 15,
  'test/review26-extractor-centre-diff-wide.e2e-spec.ts': 14,
  'test/release.e2e-spec.ts': 14,
  'test/linkage.e2e-spec.ts': 14,
  'test/aggregate-minimum.e2e-spec.ts': 14,
  'test/aggregate-differencing-properties.e2e-spec.ts': 12,
  'test/withdrawal-reference-and-number.e2e-spec.ts': 12,
  'test/demo-bids.e2e-spec.ts': 11,
  'test/release-differencing.e2e-spec.ts': 11,
  'test/review21-objection-split-resend.e2e-spec.ts': 11,
  'test/bids.e2e-spec.ts': 10,
  'test/review20-objection-new-undated.e2e-spec.ts': 10,
  'test/release-crash.e2e-spec.ts': 9,
  'test/portal/probe-findings.e2e-spec.ts': 9,
  'test/probe27-aggregate-minimum-oracle.e2e-spec.ts': 9,
};

/**
 * Failed last time first, then longest first: each file by this machine's last result where vitest keeps one, else by the
 * figure above, else after them in vitest's own order (its sort is stable).
 */
export class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const base = await super.sort(files);
    const root = this.ctx.config.root;
    const seconds = (f: TestSpecification) => {
      const path = relative(root, f.moduleId).split('\\').join('/');
      const cached = this.ctx.cache.getFileTestResults(`${f.project.name}:${path}`);
      if (cached?.failed) return 1e9; // failed last time: first, as vitest orders them
      return cached ? cached.duration / 1000 : (MEASURED_SECONDS[path] ?? 0);
    };
    const at = new Map(base.map((f) => [f, seconds(f)]));
    return [...base].sort((a, b) => at.get(b)! - at.get(a)!);
  }
}
