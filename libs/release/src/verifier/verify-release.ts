import { createHash, createHmac } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { DATASET_FILE, DATE_FIELDS, SOURCE_ROW_KEY_FIELDS } from '@custodian/catalog';
import { PRIMARY_MAX, roundToBase } from '../disclosure-control';
import type { ReleaseKeys } from '../keys';
import type { Tier } from '@custodian/catalog';
import type { ReleaseFileInfo, ReleaseSpec } from '../release.types';
import { populationBelowMinimum } from './aggregate-population';
import { CsvReader, fieldsOf } from './csv-stream';
import { differenceProblem } from './difference-check';
import { KmSets } from './km-check';
import {
  aggregateCellProblem,
  ANON_PERIOD,
  crossProductProblem,
  EVENT_ITEM_COLUMNS,
  RowOrderCheck,
  expectedHeader,
  FULL_DATE,
  FULL_POSTCODE,
  holdsNhsNumber,
  IDENTIFIABLE_ONLY,
  IDENTITY_COLUMN,
  FULL_DATE_IN_LINE,
  loneSuppressedCell,
  PERSON_COLUMNS_OF_TIER,
  MAYBE_NHS_NUMBER,
  QUASI_IDENTIFIER_COLUMNS,
  LOCATION_QUASI_IDENTIFIER_COLUMNS,
  YEAR_MONTH,
} from './verifier-rules';
import {
  bidKeySealed,
  consentCohort,
  hesKeysOf,
  objectorsAt,
  releaseFileRows,
  releaseRow,
  VerifierDb,
} from './verifier-sql';

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

/** The release breaks a rule of SPEC §5: it must fail. The message names the check, file and row, never a value. */
export class VerificationFailure extends Error {
  constructor(
    readonly check: string,
    message: string,
  ) {
    super(`${check}: ${message}`);
  }
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
}

/** SPEC §8's default AGG_MIN_POPULATION. */
const AGG_MIN_POPULATION_DEFAULT = 100;

/** Large gunzip output chunks: at zlib's default 16 KB, stream overhead was most of a file's read time. */
const GUNZIP_CHUNK = 256 * 1024;

/** Patterns that `readCsv` tests over whole chunks before any line: see `CsvReader`. */
const SCREENS = [MAYBE_NHS_NUMBER, FULL_DATE_IN_LINE];

const fail = (check: string, message: string): never => {
  throw new VerificationFailure(check, message);
};

/**
 * Independent verification of a release's files (SPEC §5 step 6, STYLE rule 17): re-reads every
 * file (gunzip and CSV parse, streamed) and checks it against the database with its own SQL —
 * no excluded person, identifiers as the tier allows, k-anonymity and the suppression cap,
 * aggregate cells, and rows, bytes and SHA-256 against what was recorded. Throws
 * `VerificationFailure` at the first broken rule.
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
  if (!rel?.snapshot_at) return fail('release', 'no release with an objection snapshot');
  const spec = rel.spec as ReleaseSpec;
  const tier = rel.tier as Tier;
  const suffix = release.suffix ?? '';

  // What was recorded: the producer's list, or release_files checked against manifest.json.
  let claimed = release.files;
  let suppressed = release.suppressedByFile;
  let removed = release.removedByFile;
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
  const ids = await forbiddenIdentities(
    db,
    rel.bid_id,
    rel.snapshot_at,
    spec,
    tier,
    rel.token_seed_enc,
    release.id,
    deps.keys,
  );
  if (ids) checks.add(ids.description);
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
          deps.aggMinPopulation ?? AGG_MIN_POPULATION_DEFAULT,
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
  // kᵐ-anonymity: the sets span files, so it is checked once all are read — before the files'
  // integrity, so that a broken rule is reported as itself.
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
  for (const { f, result } of perFile) {
    if (result.rows !== f.rows) fail('integrity', `${f.name}: ${result.rows} rows read, ${f.rows} recorded`);
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
}

const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
const fileKey = (f: ReleaseFileInfo) => [f.name, Number(f.rows), Number(f.bytes), f.sha256];
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Forbidden {
  /** Identifiers (as released in this tier) of persons that must not appear. */
  blocked: Set<string>;
  /** Where only a consent cohort may appear: its identifiers. */
  allowed?: Set<string>;
  /** Identifiable tier: HES episode keys of rows whose own NHS number is an objector's (linked or not). */
  blockedEpikeys?: Set<string>;
  description: string;
}

/**
 * SPEC §5 step 2 from the SPEC: record-level tiers never hold a Type 1 objector; they hold no
 * active Type 2 objector unless the legal basis is a public health emergency, statutory, or consent
 * (where consent overrides it); consent (or a consent-cohort spec) allows only the cohort. The NHS
 * numbers become the tier's identifiers here: the NHS number itself; HMAC-SHA256 under the bid key;
 * HMAC under the release's token seed, truncated to 128 bits.
 */
async function forbiddenIdentities(
  db: VerifierDb,
  bidId: string,
  snapshotAt: Date,
  spec: ReleaseSpec,
  tier: Tier,
  seedSealed: Buffer | null,
  releaseId: string,
  keys: ReleaseKeys,
): Promise<Forbidden | undefined> {
  if (tier === 'aggregate') return undefined;
  const consent = spec.legalBasis === 'consent' || spec.consentCohort === true;
  const type2 = !['public_health_emergency', 'statutory', 'consent'].includes(spec.legalBasis);
  const nhs = await objectorsAt(db, snapshotAt, type2 ? ['type1', 'type2'] : ['type1']);
  const cohort = consent ? await consentCohort(db, bidId) : undefined;
  let toId: (n: string) => string = (n) => n;
  let key: Buffer | undefined;
  if (tier === 'pseudonymised') {
    const sealed = await bidKeySealed(db, bidId);
    if (!sealed) return fail('identities', 'the bid has no pseudonymisation key');
    key = keys.open(sealed, `bid:${bidId}`);
    toId = (n) => createHmac('sha256', key!).update(n).digest('hex');
  } else if (tier === 'anonymised') {
    if (!seedSealed) return fail('identities', 'the release has no token seed');
    key = keys.open(seedSealed, `release:${releaseId}`);
    toId = (n) => createHmac('sha256', key!).update(n).digest('hex').slice(0, 32);
  }
  try {
    return {
      blocked: new Set(nhs.map(toId)),
      blockedEpikeys:
        tier === 'identifiable' &&
        spec.datasets.some((d) => d.dataset === 'hes' && d.fields.includes('epikey'))
          ? new Set(await hesKeysOf(db, nhs))
          : undefined,
      allowed: cohort ? new Set(cohort.map(toId)) : undefined,
      description: `no ${type2 ? 'Type 1 or active Type 2' : 'Type 1'} objector at the snapshot${
        consent ? ', and only the consent cohort,' : ''
      } in any file (by ${tier === 'identifiable' ? 'NHS number' : tier === 'pseudonymised' ? 'pseudo_id recomputed under the bid key' : 'person_token recomputed under the release seed'})`,
    };
  } finally {
    key?.fill(0);
  }
}

/** Streams a file: bytes and SHA-256 of what is on disk, gunzip when `.gz`, each record to `onRecord`. */
async function readCsv(
  file: string,
  gz: boolean,
  onRecord: (record: string, index: number, quoted: boolean, maybe: readonly boolean[]) => void,
): Promise<{ rows: number; bytes: number; sha256: string; persons: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  let records = 0;
  // The line patterns tested once per chunk first (`maybe[0]`, `maybe[1]`): most chunks hold neither.
  const reader = new CsvReader(
    (record, quoted, maybe) => onRecord(record, records++, quoted, maybe),
    SCREENS,
  );
  const decoder = new StringDecoder('utf8');
  const tap = new Transform({
    transform(chunk: Buffer, _e, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      cb(null, chunk);
    },
  });
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      try {
        reader.write(decoder.write(chunk));
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
    final(cb) {
      try {
        reader.write(decoder.end());
        reader.end();
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
  });
  try {
    await pipeline([
      createReadStream(file),
      tap,
      ...(gz ? [createGunzip({ chunkSize: GUNZIP_CHUNK })] : []),
      sink,
    ]);
  } catch (err) {
    if (err instanceof VerificationFailure) throw err;
    return fail('readable', `${path.basename(file)} cannot be read as ${gz ? 'gzip ' : ''}CSV`);
  }
  return { rows: Math.max(records - 1, 0), bytes, sha256: hash.digest('hex'), persons: 0 };
}

/** A record-level dataset file: header, identifiers, excluded persons, raw NHS numbers, k-anonymity. */
async function checkDatasetFile(
  file: string,
  name: string,
  d: ReleaseSpec['datasets'][number],
  tier: Exclude<Tier, 'aggregate'>,
  ids: Forbidden | undefined,
  deps: VerifyDeps,
  suppressed: number,
  removed: number,
  checks: Set<string>,
  km?: KmSets,
) {
  const header = expectedHeader(d.dataset, d.fields, tier);
  const idCol = header.indexOf(IDENTITY_COLUMN[tier]);
  const col = (n: string) => header.indexOf(n);
  const idFormat =
    tier === 'pseudonymised' ? /^[0-9a-f]{64}$/ : tier === 'anonymised' ? /^[0-9a-f]{32}$/ : /^\d{10}$/;
  const yearMonthCols =
    tier === 'anonymised'
      ? header.map((h, i) => (DATE_FIELDS.has(h) ? i : -1)).filter((i) => i >= 0)
      : tier === 'pseudonymised'
        ? [col('birth_year_month')].filter((i) => i >= 0)
        : [];
  const postcodeCols =
    tier === 'identifiable' ? [] : [col('postcode_district'), col('area')].filter((i) => i >= 0);
  const ageCol = tier === 'anonymised' ? col('age_band') : -1;
  const qiCols = tier === 'anonymised' ? QUASI_IDENTIFIER_COLUMNS.map(col).filter((i) => i >= 0) : [];
  // A location quasi-identifier is an event column: rows of one person differ in it, so every row is
  // split and counted (a person's class per location), never skipped as a repeat of the row before.
  const eventQi = tier === 'anonymised' && LOCATION_QUASI_IDENTIFIER_COLUMNS.some((c) => header.includes(c));
  // kᵐ-anonymity's items: a file of a row per event carries them (its item columns, or none but the file).
  const itemCols = (EVENT_ITEM_COLUMNS[name] ?? []).map(col).filter((i) => i >= 0);
  const kmItems = km && header.some((h) => !PERSON_COLUMNS_OF_TIER[tier].has(h)) ? km : undefined;
  const scanNhs = tier !== 'identifiable';
  // Source row keys (epikey) outside the identifiable tier are keyed (SPEC §5): hex of the tier's
  // length, which a key as held (at most 20 characters) never is.
  const rowKeyCols =
    tier === 'identifiable'
      ? []
      : header.map((h, i) => (SOURCE_ROW_KEY_FIELDS.has(h) ? i : -1)).filter((i) => i >= 0);
  // A HES row is excluded by its own NHS number too, whoever it is linked to: its key tells it.
  const keyCol = ids?.blockedEpikeys?.size ? col('epikey') : -1;
  const eventYearMonth = tier === 'anonymised' && header.some((h) => DATE_FIELDS.has(h));
  const k = deps.anonK;
  // Persons per class of quasi-identifiers: the persons' ids until a class reaches k (memory
  // bounded by classes × k, not by the file), then only the fact that it has.
  const small = new Map<string, Set<string> | number>();
  let persons = 0;
  let prev: string | undefined;
  let prevFields: string[] = [];
  const where = (i: number) => `${name} row ${i}`;
  // No person column: the rows' order must carry no person grouping (#27).
  const order = idCol < 0 ? new RowOrderCheck() : undefined;
  const personValueCols = header
    .map((h, i) => (PERSON_COLUMNS_OF_TIER[tier].has(h) ? i : -1))
    .filter((i) => i >= 0);
  const dateCol = header.findIndex((h) => DATE_FIELDS.has(h) && !PERSON_COLUMNS_OF_TIER[tier].has(h));

  // Person columns lead every file (catalogue order). A row whose person part (text up to the end
  // of the person columns) repeats the row before's was checked there: it needs only the tests
  // over the whole line. Other rows are split and checked column by column.
  const personCols = header.filter((h) => PERSON_COLUMNS_OF_TIER[tier].has(h)).length;
  let prevPrefix: string | undefined;
  const prefixOf = (line: string) => {
    let at = -1;
    for (let n = 0; n < personCols; n++) {
      at = line.indexOf(',', at + 1);
      if (at < 0) return undefined;
    }
    return line.slice(0, at + 1);
  };
  const commas = (line: string, from: number) => {
    let n = 0;
    for (let at = line.indexOf(',', from); at >= 0; at = line.indexOf(',', at + 1)) n++;
    return n;
  };

  const result = await readCsv(file, true, (line, i, quoted, maybe) => {
    if (i === 0) {
      const f = fieldsOf(line, quoted);
      if (f.join(',') !== header.join(','))
        fail('identifiers by tier', `${name}: header is not the ${tier} tier's (${header.join(',')})`);
      for (const h of IDENTIFIABLE_ONLY)
        if (tier !== 'identifiable' && f.includes(h))
          fail('identifiers by tier', `${name} has a ${h} column`);
      return;
    }
    const nhsLike = scanNhs && maybe[0] && MAYBE_NHS_NUMBER.test(line);
    if (
      !quoted &&
      !nhsLike &&
      personCols > 0 &&
      idCol >= 0 &&
      keyCol < 0 &&
      !rowKeyCols.length &&
      !eventQi &&
      !kmItems
    ) {
      const prefix = prefixOf(line);
      if (prefix !== undefined && prefix === prevPrefix) {
        if (commas(line, prefix.length) !== header.length - 1 - personCols)
          fail('format', `${where(i)} does not have ${header.length} fields`);
        if (eventYearMonth && maybe[1] && FULL_DATE_IN_LINE.test(line))
          fail('identifiers by tier', `${where(i)}: a full date in an anonymised file`);
        return;
      }
      prevPrefix = prefix;
    } else prevPrefix = undefined;
    const f = fieldsOf(line, quoted);
    if (f.length !== header.length)
      fail('format', `${where(i)} has ${f.length} fields, not ${header.length}`);
    let person: string | undefined;
    if (idCol >= 0) {
      person = f[idCol];
      if (person !== prev) {
        if (!idFormat.test(person))
          fail('identifiers by tier', `${where(i)}: ${IDENTITY_COLUMN[tier]} is malformed`);
        if (ids?.blocked.has(person))
          fail('objections', `${where(i)}: a person excluded by the objection snapshot appears`);
        if (ids?.allowed && !ids.allowed.has(person))
          fail('objections', `${where(i)}: a person outside the consent cohort appears`);
        persons++;
      }
    } else persons++;
    const same = idCol >= 0 && person === prev;
    prev = person;
    if (keyCol >= 0 && ids!.blockedEpikeys!.has(f[keyCol]))
      fail('objections', `${where(i)}: a row of an objector's NHS number (linked to another person) appears`);
    for (const c of rowKeyCols)
      if (!idFormat.test(f[c])) fail('identifiers by tier', `${where(i)}: ${header[c]} is not keyed`);
    if (nhsLike)
      for (let c = 0; c < f.length; c++)
        if (c !== idCol && holdsNhsNumber(f[c])) fail('identifiers by tier', `${where(i)}: a raw NHS number`);
    for (const c of yearMonthCols)
      if (f[c] !== '' && !(tier === 'anonymised' ? ANON_PERIOD : YEAR_MONTH).test(f[c]))
        fail('identifiers by tier', `${where(i)}: ${header[c]} is not a year and month`);
    kmItems?.add(
      person ?? `${name}:${i}`,
      qiCols.map((c) => [header[c], f[c]]),
      [name, ...itemCols.map((c) => f[c])].join('\u0001'),
    );
    for (const c of postcodeCols)
      if (FULL_POSTCODE.test(f[c]))
        fail('identifiers by tier', `${where(i)}: a full postcode in ${header[c]}`);
    if (ageCol >= 0 && FULL_DATE.test(f[ageCol]))
      fail('identifiers by tier', `${where(i)}: a date in age_band`);
    order?.add(
      personValueCols.length ? personValueCols.map((c) => f[c]).join('\u0001') : undefined,
      dateCol >= 0 ? f[dateCol] : undefined,
    );
    // The same person on the same quasi-identifiers as the row before: already in that class.
    if (qiCols.length && !(same && qiCols.every((c) => f[c] === prevFields[c]))) {
      prevFields = f;
      const cls = qiCols.map((c) => f[c]).join('\u0001');
      const seen = small.get(cls);
      if (typeof seen === 'number') return;
      const set = seen ?? new Set<string>();
      set.add(person ?? String(i)); // no person column: a row counts as a person (per-person file)
      small.set(cls, set.size >= k ? k : set);
    }
  });
  checks.add('identifiers as the tier allows (header, formats, no raw NHS number, no full postcode or date)');
  if (order) {
    const problem = order.problem();
    if (problem) fail('row order', `${name}: ${problem}`);
    checks.add('row order: no person grouping in files without a person column');
  }
  if (tier === 'anonymised') {
    if (qiCols.length) {
      for (const seen of small.values())
        if (typeof seen !== 'number') fail('k-anonymity', `${name}: a class of fewer than k=${k} persons`);
      checks.add(
        `k-anonymity: every class of ${QUASI_IDENTIFIER_COLUMNS.join('/')} (those a file carries; a location per row) has at least k=${k} persons`,
      );
    }
    // Persons who lost a row, of the file's persons: those in it and those it lost entirely.
    const share = suppressed / Math.max(persons + removed, 1);
    if (!(share <= deps.anonMaxSuppression))
      fail('k-anonymity', `${name}: more than ${deps.anonMaxSuppression * 100}% of persons suppressed`);
    checks.add(`suppression within ${deps.anonMaxSuppression * 100}% per file`);
  }
  return { ...result, persons };
}

/** The aggregate table: its header, every cell as disclosure control allows, no lone suppressed cell. */
async function checkAggregate(
  file: string,
  name: string,
  spec: ReleaseSpec,
  checks: Set<string>,
  minPopulation: number,
) {
  const dims = spec.aggregation?.dimensions ?? [];
  const header = [...dims, 'patients'];
  const cells: { key: string[]; suppressed: boolean; shown: string }[] = [];
  const result = await readCsv(file, true, (line, i, quoted, maybe) => {
    const f = fieldsOf(line, quoted);
    if (i === 0) {
      if (f.join(',') !== header.join(','))
        fail('aggregate', `${name}: header is not the dimensions then patients`);
      return;
    }
    if (f.length !== header.length)
      fail('format', `${name} row ${i} has ${f.length} fields, not ${header.length}`);
    const value = f[dims.length];
    const problem = aggregateCellProblem(value);
    if (problem) fail('aggregate', `${name} row ${i}: ${problem}`);
    if (maybe[0] && MAYBE_NHS_NUMBER.test(line))
      for (const v of f)
        if (holdsNhsNumber(v)) fail('identifiers by tier', `${name} row ${i}: a raw NHS number`);
    cells.push({ key: f.slice(0, dims.length), suppressed: value === '*', shown: value });
  });
  const lone = loneSuppressedCell(cells);
  if (lone !== undefined)
    fail(
      'aggregate',
      `${name}: a lone suppressed cell along ${dims[lone] ?? 'the table'} could be recovered from its total`,
    );
  const gap = crossProductProblem(cells.map((c) => c.key));
  if (gap) fail('aggregate', `${name}: ${gap}`);
  const small = populationBelowMinimum(dims, cells, minPopulation);
  if (small) fail('aggregate', `${name}: ${small}`);
  checks.add(
    `aggregate minimum population: at most the persons the cells can stand for, behind the table and each row and column, are at least ${minPopulation}`,
  );
  checks.add(
    "aggregate cells: every cell of the dimensions' cross-product; * or multiples of 5 of at least 10; no lone suppressed cell in a row or column",
  );
  return { ...result, persons: 0 };
}

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
