import type { DataSource } from 'typeorm';

/**
 * The lower bounds of shards 1…n-1 of a release (shard 0 starts at the smallest key): exact
 * quantiles of the included persons' order keys, strictly increasing (a quantile equal to the one
 * before is dropped, so ties in the key never straddle two shards and there may be fewer shards).
 *
 * Exact, not sampled: ANALYZE's histogram (what the bounds were read from before) is drawn from a
 * random sample once a table has more than 30,000 rows, so the same data was cut differently each
 * time and gave different gzip members, and different bytes. The price is one sort of the keys
 * (bigints; its cost is in docs/BENCHMARKS.md).
 */
const MIN_BIGINT = -(2n ** 63n);

export async function shardBounds(
  db: Pick<DataSource, 'query'>,
  /** The working set's person table (`release_work.r…_persons`; built from a UUID, never input). */
  personTable: string,
  wanted: number,
): Promise<bigint[]> {
  if (!/^release_work\.r[0-9a-f]{32}_persons$/.test(personTable)) throw new Error('unexpected work table');
  if (wanted <= 1) return [];
  const fractions = Array.from({ length: wanted - 1 }, (_, i) => (i + 1) / wanted);
  const [row]: { bounds: string[] | null }[] = await db.query(
    `SELECT (percentile_disc($1::float8[]) WITHIN GROUP (ORDER BY okey))::text[] AS bounds
       FROM ${personTable} WHERE excl IS NULL`,
    [fractions],
  );
  const bounds: bigint[] = [];
  for (const b of (row?.bounds ?? []).map((x) => BigInt(x)))
    if (b > (bounds.at(-1) ?? MIN_BIGINT)) bounds.push(b);
  return bounds;
}
