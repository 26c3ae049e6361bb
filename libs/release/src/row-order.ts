import type { PoolClient } from 'pg';

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
 */

/** The temp table (one row, this transaction only) that holds the row-order key. */
export const ROW_ORDER_KEY_TABLE = 'rel_order_key';

/** Whether a file's rows carry a person column (the tier's person identifier). */
export const hasPersonColumn = (fields: string[]): boolean => fields.includes('nhs_number');

/** Whether any file of the release is ordered by the keyed row hash. */
export const needsRowOrderKey = (datasets: { fields: string[] }[]): boolean =>
  datasets.some((d) => !hasPersonColumn(d.fields));

const DATASET_NAME = /^[a-z_]+$/;

/** The keyed hash of a row (SQL bigint), for ordering; `id` is an SQL expression of the row's id. */
export function rowOrderHash(dataset: string, id: string): string {
  if (!DATASET_NAME.test(dataset)) throw new Error('unexpected dataset name');
  return `('x' || left(md5((SELECT k FROM ${ROW_ORDER_KEY_TABLE}) || '${dataset}:' || (${id})::text), 16))::bit(64)::bigint`;
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
 * Puts the row-order key into this transaction's temp table (bound parameter, hex text); the
 * file's SELECT reads it once. Without it the SELECT fails rather than order by person.
 */
export async function installRowOrderKey(client: PoolClient, key: Buffer): Promise<void> {
  await client.query(`CREATE TEMP TABLE ${ROW_ORDER_KEY_TABLE} (k text NOT NULL) ON COMMIT DROP`);
  await client.query(`INSERT INTO ${ROW_ORDER_KEY_TABLE} VALUES ($1)`, [key.toString('hex')]);
}
