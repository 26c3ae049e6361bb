import type { Dataset, Tier } from '@custodian/catalog';
import type { PoolClient } from 'pg';
import type { ShardRef } from './shard-lease';
import { isPerEvent } from './release-columns.sql';

/**
 * Row order of files without a person column (SPEC §5 step 5 "rows carry no person grouping by
 * their order"; #27). Files are ordered by the persons' order key where a person column is
 * released (a person's rows together: the column joins them anyway). Without one, that order
 * rebuilt persons (each person's rows contiguous) and aligned files (GP and HES listed persons in
 * the same order), so such a file is ordered by a keyed hash of its rows instead:
 *
 * - the hash is `md5(key ‖ dataset ‖ ':' ‖ row id)` — the first 64 bits as a bigint, ties by row
 *   id — with a key derived from the release's token seed (`ReleaseKeys.rowOrderKey`): new per
 *   release, the same on a retry, so a rebuild writes the same bytes; the dataset in the message
 *   makes each file's order independent of the others';
 * - shards are ranges of that hash, not of persons: shard `s` of `S` writes the rows whose hash is
 *   in the `s`-th of `S` equal ranges of the 64-bit space, in hash order, so the shards
 *   concatenated in order are the whole file in hash order, whatever `S` is, and a shard boundary
 *   (a gzip member boundary in the file) splits nothing about persons. Each such shard therefore
 *   reads all the included persons (not only its range), which costs a scan of the working set per
 *   shard.
 *
 * In the anonymised tier a file with a person column lists each person's rows in the same keyed
 * hash's order (`withinPerson`), not by date: kᵐ-anonymity may have taken a period to a year or
 * `*`, and rows in date order would give back which of a person's events came first (probe 27).
 * The persons' order and the shards (ranges of persons) are as before. The other tiers show the
 * exact dates, so their rows stay in date order.
 */

/** The temp table (one row, this transaction only) that holds the row-order key. */
export const ROW_ORDER_KEY_TABLE = 'rel_order_key';

/** Whether a file's rows carry a person column (the tier's person identifier). */
export const hasPersonColumn = (fields: string[]): boolean => fields.includes('nhs_number');

/** Whether a file of a person column orders each person's rows by the keyed row hash. */
const hashWithinPerson = (tier: Tier, d: { dataset: Dataset; fields: string[] }): boolean =>
  tier === 'anonymised' && hasPersonColumn(d.fields) && isPerEvent(d.dataset, d.fields);

/**
 * Whether any file of the release is ordered by the keyed row hash; with `tier`, also whether any
 * file orders its persons' rows by it (`withinPerson`): whether the release needs the key.
 */
export const needsRowOrderKey = (datasets: { dataset: Dataset; fields: string[] }[], tier?: Tier): boolean =>
  datasets.some((d) => !hasPersonColumn(d.fields) || (tier !== undefined && hashWithinPerson(tier, d)));

const DATASET_NAME = /^[a-z_]+$/;

/** The keyed hash of a row (SQL bigint), for ordering; `id` is an SQL expression of the row's id. */
export function rowOrderHash(dataset: string, id: string): string {
  if (!DATASET_NAME.test(dataset)) throw new Error('unexpected dataset name');
  return `('x' || left(md5((SELECT k FROM ${ROW_ORDER_KEY_TABLE}) || '${dataset}:' || (${id})::text), 16))::bit(64)::bigint`;
}

/**
 * The order of one person's rows in a per-event file with a person column (after the persons'
 * `okey, pid`): the keyed row hash in the anonymised tier, else the event date; ties by row id.
 */
export function withinPerson(dataset: Dataset, fields: string[], tier: Tier, date: string): string {
  return hashWithinPerson(tier, { dataset, fields })
    ? `${rowOrderHash(dataset, 'x.id')}, x.id`
    : `${date}, x.id`;
}

/** The range of the hash that shard `shard` of `shards` writes (both ends included). */
export function shardHashRange(shard: number, shards: number): { lo: bigint; hi: bigint } {
  if (!Number.isInteger(shards) || shards < 1 || !Number.isInteger(shard) || shard < 0 || shard >= shards)
    throw new RangeError('bad shard number');
  const span = 2n ** 64n;
  const min = -(2n ** 63n);
  const at = (s: number) => min + (span * BigInt(s)) / BigInt(shards);
  return { lo: at(shard), hi: shard === shards - 1 ? 2n ** 63n - 1n : at(shard + 1) - 1n };
}

/**
 * This shard's range of the keyed row hash, of the build's shard count; none where every file has
 * a person column (no file is ordered by the hash alone).
 */
export async function shuffleRange(
  db: { query: (sql: string, params: unknown[]) => Promise<{ n: number }[]> },
  datasets: { dataset: Dataset; fields: string[] }[],
  { releaseId, build, shard }: ShardRef,
): Promise<{ lo: bigint; hi: bigint } | undefined> {
  if (!needsRowOrderKey(datasets)) return undefined;
  const [{ n }] = await db.query(
    `SELECT count(*)::int AS n FROM release_shards WHERE release_id = $1 AND build = $2`,
    [releaseId, build],
  );
  return shardHashRange(shard, n);
}

/**
 * Puts the row-order key into this transaction's temp table (bound parameter, hex text); the
 * file's SELECT reads it once. Without it the SELECT fails rather than order by person.
 */
export async function installRowOrderKey(client: PoolClient, key: Buffer): Promise<void> {
  await client.query(`CREATE TEMP TABLE ${ROW_ORDER_KEY_TABLE} (k text NOT NULL) ON COMMIT DROP`);
  await client.query(`INSERT INTO ${ROW_ORDER_KEY_TABLE} VALUES ($1)`, [key.toString('hex')]);
}
