import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { DATASET_FILE } from '@custodian/catalog';
import { PRIMARY_MAX, roundToBase } from '../disclosure-control';
import type { ReleaseKeys } from '../keys';
import type { Tier } from '@custodian/catalog';
import type { ReleaseFileInfo, ReleaseSpec } from '../release.types';
import { fieldsOf } from './csv-stream';
import { differenceProblem, ledgerFilesProblem } from './difference-check';
import { aggregateDifferenceProblem } from './aggregate-difference-check';
import { KmSets } from './km-check';
import { expectedHeader, holdsNhsNumber, IDENTITY_COLUMN, MAYBE_NHS_NUMBER } from './verifier-rules';
import { releaseFileRows, releaseRow, VerifierDb } from './verifier-sql';

import { checkAggregate } from './aggregate-file-check';
import { recountAggregate, recountValues } from './aggregate-recount';
import { aggregateRequest, populationThreshold } from '../aggregate-threshold';
import { checkDatasetFile, readCsv, sha256 } from './file-checks';
import { forbiddenIdentities } from './forbidden';
import { drawFromLedger } from './suppression-audit';
import { fail } from './verification-failure';
import { compareRecount, recountExpected } from './row-recount';

export { VerificationFailure } from './verification-failure';

/** What a release's manifest says of its verification (SPEC §5 step 6). */
export interface VerificationReport {
  verified: true;
  by: string;
  checks: string[];
  files: number;
  rows: number;
  /**
   * Persons recognised in the files (per file: a person in two files counts twice). The manifest
   * reaches researchers, so it is shown as SPEC §5 shows them counts of persons: `*` for 1–7,
   * else rounded to 5.
   */
  personsChecked: number | '*';
  ms: number;
}

export interface VerifyTarget {
  id: string;
  /** The files the producer says it wrote (all but the manifest); default: `release_files`, checked against manifest.json. */
  files?: ReleaseFileInfo[];
  /** Name suffix of the files on disk (`.partial` before they are published). */
  suffix?: string;
  /** Persons suppressed per dataset by k-anonymity — who lost a row of the file (default: the manifest's). */
  suppressedByFile?: Record<string, number>;
  /**
   * Of them, persons left with no row in the file (default: the manifest's; where neither says, all
   * the suppressed): the file's population is the persons in it and these.
   */
  removedByFile?: Record<string, number>;
  /**
   * Per file of a row per event, the persons kᵐ-anonymity left with no row of it (the engine's
   * exact count; default: the release's staff-only figures). Where unknown, the suppression audit
   * skips such files.
   */
  kmEmptiedByFile?: Record<string, number>;
  /** Per file of a row per event, the rows kᵐ-anonymity removed (exact; default: the release's staff-only figures). */
  kmSuppressedRowsByFile?: Record<string, number>;
  /**
   * Runs `read` in the release's data snapshot, while its attempt holds it (the engine passes it):
   * who may not appear (objections, the consent cohort, objectors' HES keys) and the aggregate
   * recount are then read in the data the engine read. Without it (a release verified again later)
   * they are read as committed now, up to the snapshot's instant: an objection whose transaction
   * began before that instant and committed after the snapshot then fails the check, on the side of
   * the patient; the recount reads the sources as they are now, so an aggregate table verified
   * again after they changed may fail it.
   */
  inSnapshot?: <T>(read: (db: VerifierDb) => Promise<T>) => Promise<T>;
}

export interface VerifyDeps {
  keys: ReleaseKeys;
  /** k, m and the suppression cap of the anonymised tier (ANON_K, ANON_M, ANON_MAX_SUPPRESSION). */
  anonK: number;
  /** kᵐ-anonymity's m (ANON_M); 2 when not given. */
  anonM?: number;
  anonMaxSuppression: number;
  /**
   * The aggregate tier's minimum population behind the table and each row and column
   * (AGG_MIN_POPULATION; the engine passes the configured value, default SPEC's 100).
   */
  aggMinPopulation?: number;
  /** The width of its keyed margin (AGG_MIN_POPULATION_MARGIN; default 14). */
  aggMinPopulationMargin?: number;
}

/** SPEC §8's default AGG_MIN_POPULATION, and the default width of its margin. */
const AGG_MIN_POPULATION_DEFAULT = 100;
const AGG_MIN_POPULATION_MARGIN_DEFAULT = 14;
/**
 * Independent verification of a release's files (SPEC §5 step 6, STYLE rule 17): re-reads every
 * file (gunzip and CSV parse, streamed) and checks it against the database with its own SQL —
 * no excluded person, identifiers as the tier allows, k-anonymity and the suppression cap,
 * aggregate cells and their counts (recounted), and rows, bytes and SHA-256 against what was
 * recorded. Throws `VerificationFailure` at the first broken rule.
 */
export async function verifyRelease(
  dir: string,
  release: VerifyTarget,
  db: VerifierDb,
  deps: VerifyDeps,
): Promise<VerificationReport> {
  const t0 = Date.now();
  const checks = new Set<string>();
  const rel = await releaseRow(db, release.id);
  if (!rel?.snapshot_cut) return fail('release', 'no release with an objection snapshot');
  const spec = rel.spec as ReleaseSpec;
  const tier = rel.tier as Tier;
  const suffix = release.suffix ?? '';

  // What was recorded: the producer's list, or release_files checked against manifest.json.
  let claimed = release.files;
  let suppressed = release.suppressedByFile;
  let removed = release.removedByFile;
  // Exact and staff-only: the release's own record where the engine does not pass it (no manifest
  // figure stands in for it: without it, files of a row per event are not audited).
  const kmEmptied = release.kmEmptiedByFile ?? rel.excluded?.kmAnonymity?.emptiedByFile;
  if (!claimed) {
    const recorded = await releaseFileRows(db, release.id);
    const manifestRow = recorded.find((f) => f.name === 'manifest.json');
    if (!manifestRow) return fail('integrity', 'release_files has no manifest.json');
    const manifestBytes = await readFile(path.join(dir, `manifest.json${suffix}`));
    if (manifestBytes.length !== manifestRow.bytes || sha256(manifestBytes) !== manifestRow.sha256)
      fail('integrity', 'manifest.json differs from release_files');
    const manifest = JSON.parse(manifestBytes.toString('utf8')) as {
      files?: ReleaseFileInfo[];
      kAnonymity?: {
        suppressedByFile?: Record<string, number | string>;
        removedByFile?: Record<string, number | string>;
      };
    };
    claimed = recorded.filter((f) => f.name !== 'manifest.json');
    const listed = JSON.stringify([...(manifest.files ?? [])].sort(byName).map(fileKey));
    if (listed !== JSON.stringify([...claimed].sort(byName).map(fileKey)))
      fail('integrity', 'the manifest and release_files list different files, rows, bytes or hashes');
    // The exact staff-only figures the release recorded; else the published manifest's, where 1-7
    // shows as "*" (SPEC small numbers): re-checked at the worst case, the most persons suppressed
    // (7) and the fewest removed (1), never as a value that compares false.
    suppressed ??=
      rel.excluded?.kAnonymity?.suppressedByFile ?? worstCase(manifest.kAnonymity?.suppressedByFile, 7);
    removed ??= rel.excluded?.kAnonymity?.removedByFile ?? worstCase(manifest.kAnonymity?.removedByFile, 1);
    checks.add('manifest.json equals release_files');
  }

  // The files the spec calls for, and nothing else on disk.
  const dataFiles =
    tier === 'aggregate' ? ['aggregate.csv.gz'] : spec.datasets.map((d) => DATASET_FILE[d.dataset]);
  const expected = [...dataFiles, 'data_dictionary.csv'].sort();
  if (JSON.stringify(claimed.map((f) => f.name).sort()) !== JSON.stringify(expected))
    fail('files', 'the files recorded are not those the release asks for');
  const allowedOnDisk = new Set(
    [...expected, ...(release.files ? [] : ['manifest.json'])].map((n) => n + suffix),
  );
  for (const entry of await readdir(dir))
    if (!allowedOnDisk.has(entry))
      fail('files', `an unexpected entry in the release folder (${entry.slice(0, 40)})`);
  checks.add('files as the spec asks');

  // Who may not appear, as identifiers of this tier.
  // (The bid's key is read as committed now: it may be made by this very release, after its snapshot.)
  // The suppression audit's persons, drawn from the release's ledger (read as committed, before the
  // snapshot's connection is taken).
  // (Identifiable and pseudonymised: persons the files must show, under the tier's identifiers.)
  const drawn = tier !== 'aggregate' ? await drawFromLedger(db, release.id) : undefined;
  const forbidden = (data: VerifierDb) =>
    forbiddenIdentities(
      db,
      rel.bid_id,
      rel.snapshot_cut!,
      spec,
      tier,
      rel.token_seed_enc,
      release.id,
      deps.keys,
      data,
      drawn,
    );
  // Read in the release's data snapshot where the engine passes it, else as committed now.
  const inData = <T>(read: (data: VerifierDb) => Promise<T>) =>
    release.inSnapshot ? release.inSnapshot(read) : read(db);
  const ids = await inData(forbidden);
  if (ids) checks.add(ids.description);
  // The suppression audit's lookups, in the snapshot while the files are read (each file's check
  // awaits them at its end, where a failure is thrown). Marked handled meanwhile: a file that fails
  // first leaves them unawaited.
  const auditRows = ids?.audit ? inData(ids.audit.rows) : undefined;
  auditRows?.catch(() => undefined);
  // The rows every dataset file may hold, counted in PostgreSQL while the files are read here
  // (row-recount.ts; held to the files once they are read, after the kᵐ check).
  const recount =
    tier === 'aggregate'
      ? undefined
      : recountExpected(db, inData, {
          releaseId: release.id,
          bidId: rel.bid_id,
          cut: rel.snapshot_cut!,
          spec,
        }).then(
          (value) => ({ value }),
          (error: unknown) => ({ error }),
        );
  // Releases of one bid compared with each other (#27): its own SQL over the release ledger, in
  // PostgreSQL while the files are read here (settled, so that its failure is reported first).
  const difference =
    tier === 'aggregate'
      ? undefined
      : differenceProblem(db, { id: release.id, bidId: rel.bid_id }, deps.anonK).then(
          (value) => ({ value }),
          (error: unknown) => ({ error }),
        );

  // The files are read at once (gunzip runs off the main thread, so one file's inflating overlaps
  // another's checks); each notes its checks apart, merged in file order, and the first failure in
  // file order is the one reported, so the outcome is the same whichever file finishes first.
  // kᵐ-anonymity: persons and their items gathered across the files, checked once all are read.
  const km = tier === 'anonymised' ? new KmSets() : undefined;
  // Its spill file is removed however the verification ends.
  try {
    const settled = await Promise.allSettled(
      claimed.map(async (f) => {
        const file = path.join(dir, f.name + suffix);
        const own = new Set<string>();
        let result: { rows: number; bytes: number; sha256: string; persons: number };
        if (f.name === 'data_dictionary.csv')
          result = await readCsv(file, false, (line, i, quoted, maybe) => {
            if (
              tier !== 'identifiable' &&
              maybe[0] &&
              MAYBE_NHS_NUMBER.test(line) &&
              fieldsOf(line, quoted).some(holdsNhsNumber)
            )
              fail('identifiers by tier', `data_dictionary.csv row ${i}: a raw NHS number`);
          });
        else if (tier === 'aggregate')
          result = await checkAggregate(
            file,
            f.name,
            spec,
            own,
            {
              min: deps.aggMinPopulation ?? AGG_MIN_POPULATION_DEFAULT,
              width: deps.aggMinPopulationMargin ?? AGG_MIN_POPULATION_MARGIN_DEFAULT,
            },
            (cells) => aggregateDifferenceProblem(db, release.id, spec.aggregation?.dimensions ?? [], cells),
            {
              cells: () => inData((data) => recountAggregate(data, rel.snapshot_cut!, spec)),
              values: (values) => inData((data) => recountValues(data, rel.snapshot_cut!, spec, values)),
              threshold: (margin) =>
                populationThreshold(
                  deps.keys.aggregateThresholdKey(),
                  aggregateRequest(spec),
                  margin,
                  deps.aggMinPopulation ?? AGG_MIN_POPULATION_DEFAULT,
                  deps.aggMinPopulationMargin ?? AGG_MIN_POPULATION_MARGIN_DEFAULT,
                ),
            },
          );
        else {
          const d = spec.datasets.find((x) => DATASET_FILE[x.dataset] === f.name)!;
          const lost = suppressed?.[d.dataset] ?? 0;
          result = await checkDatasetFile(
            file,
            f.name,
            d,
            tier,
            ids,
            deps,
            lost,
            removed?.[d.dataset] ?? lost,
            own,
            km,
            auditRows,
            kmEmptied?.[d.dataset] ?? (kmEmptied ? 0 : undefined),
          );
        }
        return { f, result, own };
      }),
    );
    const diff = await difference;
    if (diff && 'error' in diff) throw diff.error;
    if (diff?.value.problem) fail('differencing', diff.value.problem);
    if (diff?.value.comparedWith)
      checks.add(
        `differs from the bid's earlier release by no persons or by at least k=${deps.anonK} (release ledger)`,
      );
    if (diff?.value.earlier)
      checks.add(
        `differs from every earlier release of the bid by no persons or by at least k=${deps.anonK} gone (release ledger)`,
      );
    const perFile = settled.map((r) => {
      if (r.status === 'rejected') throw r.reason;
      return r.value;
    });
    let rows = 0;
    let persons = 0;
    for (const { result, own } of perFile) {
      for (const c of own) checks.add(c);
      rows += result.rows;
      persons += result.persons;
    }
    // kᵐ-anonymity: the sets span files, so it is checked once all are read — before the row
    // recount and the files' integrity, so that a broken rule is reported as itself.
    if (km?.size) {
      const m = deps.anonM ?? 2;
      const small = km.smallSets(deps.anonK, m);
      if (small > 0)
        fail(
          'kᵐ-anonymity',
          `${small} set(s) of at most m=${m} event items carried by fewer than k=${deps.anonK} persons of a class`,
        );
      checks.add(
        `kᵐ-anonymity: every set of at most m=${m} event items of a person is carried by at least k=${deps.anonK} persons of their class`,
      );
    }
    // Every dataset file's rows counted from the database (row-recount.ts: files without a person
    // column since probe 33; with one, and the anonymised tier less what suppression took, probe 42).
    const expected = await recount;
    if (expected && 'error' in expected) throw expected.error;
    if (expected?.value) {
      const kmRows = release.kmSuppressedRowsByFile ?? rel.excluded?.kmAnonymity?.suppressedByFile;
      checks.add(
        compareRecount(expected.value, {
          spec,
          rowsOf: (name) => perFile.find(({ f }) => f.name === name)!.result.rows,
          suppressedOf:
            tier === 'anonymised'
              ? (d) => ({
                  kPersons: suppressed?.[d] ?? 0,
                  kRemoved: removed?.[d] ?? suppressed?.[d] ?? 0,
                  kmRows: kmRows?.[d] ?? 0,
                })
              : undefined,
        }),
      );
    }
    // The ledger compared above is the files' persons, not the eligible patients' (#27).
    if (tier === 'pseudonymised' || tier === 'identifiable') {
      const dataSets = spec.datasets;
      if (dataSets.every((d) => expectedHeader(d.dataset, d.fields, tier).includes(IDENTITY_COLUMN[tier]))) {
        const shown = perFile
          .filter(({ f }) => f.name !== 'data_dictionary.csv')
          .map(({ result }) => result.persons);
        const problem = await ledgerFilesProblem(db, release.id, shown);
        if (problem) fail('differencing', problem);
        checks.add("the differencing ledger's persons are those the files show");
        const ledger = ids?.ledger;
        if (ledger?.released.size) {
          if (ledger.seen.size < ledger.released.size)
            fail(
              'identities',
              `${ledger.released.size - ledger.seen.size} of ${ledger.released.size} persons sampled from the release's ledger are not in its files under this tier's identifiers (${IDENTITY_COLUMN[tier]})`,
            );
          checks.add(
            `persons sampled from the release's ledger are in its files, identified as the tier identifies them (${IDENTITY_COLUMN[tier]})`,
          );
        }
      }
    }
    for (const { f, result } of perFile) {
      if (result.rows !== f.rows)
        fail('integrity', `${f.name}: ${result.rows} rows read, ${f.rows} recorded`);
      if (result.bytes !== f.bytes) fail('integrity', `${f.name}: size differs from the recorded size`);
      if (result.sha256 !== f.sha256) fail('integrity', `${f.name}: SHA-256 differs from the recorded hash`);
    }
    checks.add('rows, bytes and SHA-256 of every file');
    return {
      verified: true,
      by: 'release verifier (libs/release/src/verifier), independent of the release engine',
      checks: [...checks],
      files: claimed.length,
      rows,
      personsChecked: persons >= 1 && persons <= PRIMARY_MAX ? '*' : roundToBase(persons),
      ms: Date.now() - t0,
    };
  } finally {
    km?.dispose();
  }
}

const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
const fileKey = (f: ReleaseFileInfo) => [f.name, Number(f.rows), Number(f.bytes), f.sha256];
/** Counts of a published manifest as numbers: a shown "*" (1-7) as `star`, anything else not a count as 7. */
function worstCase(
  counts: Record<string, number | string> | undefined,
  star: number,
): Record<string, number> | undefined {
  if (!counts) return undefined;
  return Object.fromEntries(
    Object.entries(counts).map(([k, v]) => [
      k,
      typeof v === 'number' && Number.isFinite(v) ? v : v === '*' ? star : 7,
    ]),
  );
}
