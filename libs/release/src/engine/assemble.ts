import { createHash } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { CATALOGUE_FIELDS, DATASET_FILE } from '@custodian/catalog';
import { PRIMARY_MAX, ROUND_TO, shownCount, shownSmall } from '../disclosure-control';
import { kmManifest } from '../km-manifest';
import { locationQis } from '../location-qi';
import { differencingManifest } from '../release-ledger';
import { assembleGzip, csvLine, writeContent } from '../release-files';
import { datasetColumns, datasetHeader } from '../release-sql';
import { objectionPolicy } from '../release-spec';
import {
  buildDir,
  BuiltFile,
  ClaimedRelease,
  EngineContext,
  quasiIdentifierNames,
  quasiIdentifiersOf,
  shardFile,
  SOFTWARE_VERSION,
} from './context';
import type { Prepared } from './prepare';
import type { ShardParts } from './shards';
import type { Verification } from './verify';

/**
 * Assemble stage: each dataset's file from its shards' gzip members in shard order (record level)
 * or the aggregate table the preparation wrote, then the data dictionary; every file still
 * `.partial` (invisible) until the manifest is written.
 */
export async function assembleFiles(
  ctx: EngineContext,
  rel: ClaimedRelease,
  dir: string,
  prepared: Prepared,
  parts: ShardParts | undefined,
): Promise<{ files: BuiltFile[]; done: number }> {
  const spec = rel.spec;
  const files: BuiltFile[] = [];
  const dictionary: string[] = [csvLine(['file', 'column', 'description'])];
  let done = 0;
  if (parts) {
    const level = ctx.config.releaseGzipLevel;
    for (const d of spec.datasets) {
      const name = DATASET_FILE[d.dataset];
      const written = await assembleGzip(
        datasetHeader(d.dataset, d.fields, spec.tier),
        parts.files.map((s) =>
          path.join(dir, buildDir(rel.attempts), shardFile(d.dataset, s.shard, s.claim)),
        ),
        path.join(dir, `${name}.partial`),
        level,
      );
      const rows = parts.rows[d.dataset] ?? 0;
      files.push({ name, rows, ...written });
      for (const col of datasetColumns(d.dataset, d.fields, spec.tier).columns)
        dictionary.push(csvLine([name, col.name, col.description]));
      done += rows;
    }
  } else {
    files.push(prepared.aggregate!.file);
    for (const [col, desc] of prepared.aggregate!.dictionary)
      dictionary.push(csvLine(['aggregate.csv.gz', col, desc]));
    done = prepared.aggregate!.file.rows;
  }
  await rm(path.join(dir, buildDir(rel.attempts)), { recursive: true, force: true });
  const dict = await writeContent(
    path.join(dir, 'data_dictionary.csv.partial'),
    dictionary.join(''),
    false,
    dictionary.length - 1,
  );
  files.push({ name: 'data_dictionary.csv', ...dict });
  return { files, done };
}

/** The manifest (SPEC §5 step 6), over the verified files' hashes. */
export function manifestOf(
  ctx: EngineContext,
  rel: ClaimedRelease,
  policy: ReturnType<typeof objectionPolicy>,
  prepared: Prepared,
  files: BuiltFile[],
  verification: Verification,
) {
  const spec = rel.spec;
  const kAnon = prepared.kAnon;
  return {
    release: rel.id,
    bid: rel.bid_id,
    agreementReference: spec.agreementReference,
    tier: spec.tier,
    legalBasis: spec.legalBasis,
    datasets: spec.datasets.map((d) => ({
      dataset: d.dataset,
      fields: CATALOGUE_FIELDS[d.dataset].filter((f) => d.fields.includes(f)),
    })),
    cohort: spec.cohort,
    aggregation: spec.aggregation,
    objections: {
      snapshotAt: rel.snapshot_at.toISOString(),
      applied: policy.applied,
      reason: policy.reason,
      type1: 'excluded from every release and from every aggregate count',
      consentCohortOnly: policy.consentOnly,
    },
    // Counts of persons follow the aggregate rule (researchers read this file); the exact ones are
    // on the release for staff (`excluded.kAnonymity`). Row counts of files (`files`) are rows.
    kAnonymity: kAnon
      ? {
          k: kAnon.k,
          quasiIdentifiers: [
            ...quasiIdentifierNames(quasiIdentifiersOf(spec)),
            ...Object.values(locationQis(spec.datasets)),
          ],
          levels: kAnon.levels,
          // Every file listed, 0 to 7 alike as `*`: a `0` (or a file left out) beside a `*` told
          // whether a rare person had objected (review-27).
          suppressed: shownSmall(kAnon.suppressed),
          suppressedByFile: Object.fromEntries(
            spec.datasets.map((d) => [d.dataset, shownSmall(kAnon.suppressedByFile[d.dataset] ?? 0)]),
          ),
          // Of them, persons left with no row in the file (a location file drops a person's rows of
          // a small location class only; the person stays with the others).
          removedByFile: Object.fromEntries(
            spec.datasets.map((d) => [d.dataset, shownSmall(kAnon.removedByFile[d.dataset] ?? 0)]),
          ),
          population: shownCount(kAnon.population),
          maxSuppressionPerFile: ctx.config.anonMaxSuppression,
          counting: `classes per file over the full quasi-identifier tuple (a location file: per person-location pair, counted in persons); suppression counted in persons who lose a row of a file (removedByFile: of them, those who lose the whole file) and capped per file; counts of persons shown as * for 1-${PRIMARY_MAX} (suppressed and removed: 0-${PRIMARY_MAX}), else rounded to the nearest ${ROUND_TO}`,
        }
      : undefined,
    kmAnonymity: prepared.km ? kmManifest(prepared.km) : undefined,
    disclosureControl: prepared.aggregate?.info,
    differencing: prepared.differencing ? shownDifferencing(prepared.differencing) : undefined,
    aggregateDifferencing: prepared.aggregate?.differencing.manifest,
    files: files.map(({ name, rows, bytes, sha256 }) => ({ name, rows, bytes, sha256 })),
    // How the public register names these files (registerDigest): its recipients can check it.
    register: {
      salt: registerSalt(ctx, rel).toString('hex'),
      fileDigest:
        "SHA-256 of the salt's 32 bytes followed by the file's SHA-256 as 64 hexadecimal characters",
    },
    verification,
    software: { name: 'custodian', version: SOFTWARE_VERSION },
  };
}

/**
 * The differencing guard's manifest section without whether new persons were held back: `true`
 * told a researcher that 1 to k-1 persons had joined since the bid's last release (an objection
 * withdrawn, a new diagnosis) where the files were the same (probe 42). Staff read it in
 * `excluded.differencing`.
 */
function shownDifferencing(d: Parameters<typeof differencingManifest>[0]) {
  const { newPersonsHeldBack, ...shown } = differencingManifest(d);
  void newPersonsHeldBack;
  return shown;
}

/** Writes manifest.json beside the files, then makes them all visible at once (renames). */
export async function publishFiles(
  dir: string,
  manifest: ReturnType<typeof manifestOf>,
  files: BuiltFile[],
): Promise<void> {
  const man = await writeContent(
    path.join(dir, 'manifest.json.partial'),
    JSON.stringify(manifest, null, 2) + '\n',
    false,
    0,
  );
  files.push({ name: 'manifest.json', ...man });
  for (const f of files) await rename(path.join(dir, `${f.name}.partial`), path.join(dir, f.name));
}

/**
 * The release's register salt (32 bytes, from its token seed: the same on a retry). The public
 * register names each file by `registerDigest`, not by its SHA-256: a small file — an aggregate
 * table of a few counts — could be found from its plain hash by trying every likely table (an
 * outsider's probe recovered one from the register in two minutes). The salt is in the manifest,
 * which only the recipients hold, so they can check that the register names their files.
 */
export function registerSalt(ctx: EngineContext, rel: ClaimedRelease): Buffer {
  return ctx.keys.seedKey(rel.token_seed_enc, rel.id, 'register-digest-v1');
}

/** SHA-256(salt ‖ the file's SHA-256 as hex text): the register's name for a file's content. */
export const registerDigest = (salt: Buffer, sha256: string) =>
  createHash('sha256').update(salt).update(sha256, 'utf8').digest('hex');
