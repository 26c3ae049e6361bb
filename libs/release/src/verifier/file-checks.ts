import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { DATE_FIELDS, SOURCE_ROW_KEY_FIELDS } from '@custodian/catalog';
import type { Tier } from '@custodian/catalog';
import type { ReleaseSpec } from '../release.types';
import { CsvReader, FastLane, fieldsOf } from './csv-stream';
import { copyOf, KmSets } from './km-check';
import { PersonDateOrder } from './person-date-order';
import { itemText, PersonRuns } from './person-runs';
import {
  ANON_PERIOD,
  CODE_COLUMNS,
  codeValueOk,
  ANONYMISED_WITHHELD,
  EVENT_ITEM_COLUMNS,
  RowOrderCheck,
  expectedHeader,
  anonymisedValueProblem,
  FULL_POSTCODE,
  holdsNhsNumber,
  IDENTIFIABLE_ONLY,
  IDENTITY_COLUMN,
  FULL_DATE_IN_LINE,
  PERSON_COLUMNS_OF_TIER,
  MAYBE_NHS_NUMBER,
  postcodeValueProblem,
  QUASI_IDENTIFIER_COLUMNS,
  LOCATION_QUASI_IDENTIFIER_COLUMNS,
  YEAR_MONTH,
} from './verifier-rules';
import type { Forbidden } from './forbidden';
import { auditProblem } from './suppression-audit';

import { fail, VerificationFailure } from './verification-failure';
import type { VerifyDeps } from './verify-release';

/** The checks of one file of a release, each reading it once (streamed): `verify-release.ts` runs them. */

/** Large gunzip output chunks: at zlib's default 16 KB, stream overhead was most of a file's read time. */
const GUNZIP_CHUNK = 256 * 1024;

/** Patterns that `readCsv` tests over whole chunks before any line: see `CsvReader`. */
const SCREENS = [MAYBE_NHS_NUMBER, FULL_DATE_IN_LINE];
export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * Streams a file: bytes and SHA-256 of what is on disk, gunzip when `.gz`, each record to
 * `onRecord`, or to `fast` first where given (see `CsvReader`).
 */
export async function readCsv(
  file: string,
  gz: boolean,
  onRecord: (record: string, index: number, quoted: boolean, maybe: readonly boolean[]) => void,
  screens: readonly RegExp[] = SCREENS,
  fast?: FastLane,
): Promise<{ rows: number; bytes: number; sha256: string; persons: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  // The line patterns tested once per chunk first (`maybe[0]`, `maybe[1]`): most chunks hold neither.
  const reader = new CsvReader(
    (record, quoted, maybe, index) => onRecord(record, index, quoted, maybe),
    screens,
    fast,
  );
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
        reader.write(chunk);
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
    final(cb) {
      try {
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
  // Every file the verifier reads begins with its header, checked on the first record: a file of
  // no record at all would pass that check unseen.
  if (reader.records === 0) fail('format', `${path.basename(file).replace(/\.partial$/, '')} has no header`);
  return { rows: reader.records - 1, bytes, sha256: hash.digest('hex'), persons: 0 };
}

/** A record-level dataset file: header, identifiers, excluded persons, raw NHS numbers, k-anonymity. */
export async function checkDatasetFile(
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
  /** The suppression audit's rows per dataset (read while the file is), where drawn persons exist. */
  auditRows?: Promise<Record<string, Map<string, boolean>>>,
  /**
   * A file of a row per event: the persons kᵐ-anonymity left with no row of it (the engine's exact
   * count), who are absent as the suppressed are. Unknown (a release verified again later): that
   * file is not audited.
   */
  kmEmptied?: number,
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
  // Anonymised person columns held to their ladders (probe 42): an age band, an ethnic category or group.
  const anonCols = tier === 'anonymised' ? [col('age_band'), col('ethnicity')].filter((i) => i >= 0) : [];
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
  // Persons given an objector's row by linkage, and the rows read of each (every row counted).
  const mislinked = idCol >= 0 ? ids?.mislinked?.[d.dataset] : undefined;
  const rowsOf = new Map<string, number>();
  // Sampled persons' episode keys, recomputed: each of their rows must carry one.
  const epikeysOf = idCol >= 0 && col('epikey') >= 0 ? ids?.epikeysOf : undefined;
  const epikeyCol = col('epikey');
  const drawnEpikeys = idCol < 0 && epikeyCol >= 0 ? ids?.epikeySample : undefined;
  let sampled = false;
  // The suppression audit's sampled persons (anonymised), and those of them read in the file. A
  // file of a row per event only where kᵐ's emptied persons are known: see suppression-audit.ts.
  const drawnIds = idCol >= 0 && (!kmItems || kmEmptied !== undefined) ? ids?.audit?.drawn : undefined;
  const seen = new Set<string>();
  const eventYearMonth = tier === 'anonymised' && header.some((h) => DATE_FIELDS.has(h));
  // Columns that could carry free text: every row's value is a code (or, anonymised, its
  // generalisation); such a file is read row by row, never as repeats of a person's row before.
  const codeCols = header.map((h, i) => (CODE_COLUMNS[h] ? i : -1)).filter((i) => i >= 0);
  // Anonymised: event columns that are no kᵐ item are `*` in every row.
  const withheldCols =
    tier === 'anonymised'
      ? header.map((h, i) => (ANONYMISED_WITHHELD.has(h) ? i : -1)).filter((i) => i >= 0)
      : [];
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
  // Anonymised, a person column: a person's rows must not follow the event dates (probe 27).
  const within = tier === 'anonymised' && idCol >= 0 && dateCol >= 0 ? new PersonDateOrder() : undefined;

  // Person columns lead every file (catalogue order). A row whose person part (text up to the end
  // of the person columns) repeats the row before's was checked there: it needs only the tests
  // over the whole line. Other rows are split and checked column by column.
  const personCols = header.filter((h) => PERSON_COLUMNS_OF_TIER[tier].has(h)).length;
  // With kᵐ items, a row repeating the person part of the row before is checked by its event
  // columns alone when everything else a row is checked for lies in the person part (the anonymised
  // tier: year-month dates in event columns, items in event columns).
  const repeatable =
    tier === 'anonymised' &&
    itemCols.every((c) => c >= personCols) &&
    postcodeCols.every((c) => c < personCols) &&
    anonCols.every((c) => c < personCols) &&
    qiCols.every((c) => c < personCols) &&
    header.slice(0, personCols).every((h) => PERSON_COLUMNS_OF_TIER[tier].has(h));
  const runs = new PersonRuns({
    name,
    header,
    personCols,
    eventYearMonthCols: yearMonthCols.filter((c) => c >= personCols),
    itemCols,
    eventYearMonth,
    km: kmItems,
    order: within && dateCol >= personCols ? { col: dateCol, check: within } : undefined,
    where,
  });
  // Rows may repeat their person part: those of a file with kᵐ items only where it is `repeatable`.
  const runsAllowed =
    personCols > 0 &&
    idCol >= 0 &&
    keyCol < 0 &&
    !rowKeyCols.length &&
    !codeCols.length &&
    !withheldCols.length &&
    !eventQi &&
    !mislinked?.size &&
    !epikeysOf?.size &&
    (!kmItems || repeatable);

  // `maybe[1]` (a full date somewhere in the chunk) serves only rows checked by their line alone,
  // which a file with kᵐ items has none of: its screen is not run (1.4 s of 24 at 1M rows).
  const screens = kmItems ? [MAYBE_NHS_NUMBER] : SCREENS;
  const result = await readCsv(
    file,
    true,
    (line, i, quoted, maybe) => {
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
      if (!quoted && !nhsLike && runsAllowed) {
        if (runs.repeats(line, i, maybe)) return;
        runs.begin(line);
      } else runs.begin(undefined);
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
          if (drawnIds?.has(person)) seen.add(person);
          if (ids?.ledger?.released.has(person)) ids.ledger.seen.add(copyOf(person));
          persons++;
        }
      } else persons++;
      if (mislinked?.has(person!)) rowsOf.set(person!, (rowsOf.get(person!) ?? 0) + 1);
      const own = epikeysOf?.get(person!);
      if (own) {
        if (!own.has(f[epikeyCol]))
          fail(
            'identifiers by tier',
            `${where(i)}: epikey is not one of the person's keyed as the tier keys it`,
          );
        sampled = true;
      }
      const same = idCol >= 0 && person === prev;
      prev = person;
      if (within) within[same ? 'next' : 'first'](f[dateCol]);
      if (keyCol >= 0 && ids!.blockedEpikeys!.has(f[keyCol]))
        fail(
          'objections',
          `${where(i)}: a row of an objector's NHS number (linked to another person) appears`,
        );
      for (const c of rowKeyCols)
        if (!idFormat.test(f[c])) fail('identifiers by tier', `${where(i)}: ${header[c]} is not keyed`);
      drawnEpikeys?.see(f[epikeyCol]);
      for (const c of withheldCols)
        if (f[c] !== '*') fail('k-anonymity', `${where(i)}: ${header[c]} is not withheld (*)`);
      for (const c of codeCols)
        if (!codeValueOk(header[c], f[c], tier))
          fail('free text', `${where(i)}: ${header[c]} is not a code of its system`);
      if (nhsLike)
        for (let c = 0; c < f.length; c++)
          if (c !== idCol && holdsNhsNumber(f[c]))
            fail('identifiers by tier', `${where(i)}: a raw NHS number`);
      for (const c of yearMonthCols)
        if (f[c] !== '' && !(tier === 'anonymised' ? ANON_PERIOD : YEAR_MONTH).test(f[c]))
          fail('identifiers by tier', `${where(i)}: ${header[c]} is not a year and month`);
      kmItems?.add(
        person,
        qiCols.map((c) => [header[c], f[c]]),
        itemText(itemCols.map((c) => f[c])),
        name,
      );
      for (const c of postcodeCols) {
        if (FULL_POSTCODE.test(f[c]))
          fail('identifiers by tier', `${where(i)}: a full postcode in ${header[c]}`);
        const problem = postcodeValueProblem(header[c], f[c]);
        if (problem) fail('identifiers by tier', `${where(i)}: ${problem}`);
      }
      for (const c of anonCols) {
        const problem = anonymisedValueProblem(header[c], f[c]);
        if (problem) fail('identifiers by tier', `${where(i)}: ${problem}`);
      }
      order?.add(
        personValueCols.length ? personValueCols.map((c) => f[c]).join('\u0001') : undefined,
        dateCol >= 0 ? f[dateCol] : undefined,
      );
      // The same person on the same quasi-identifiers as the row before: already in that class.
      if (qiCols.length && !(same && qiCols.every((c) => f[c] === prevFields[c]))) {
        prevFields = f;
        let cls = f[qiCols[0]];
        for (let q = 1; q < qiCols.length; q++) cls += '\u0001' + f[qiCols[q]];
        const seen = small.get(cls);
        if (typeof seen === 'number') return;
        const set = seen ?? new Set<string>();
        // A copy of the person's id, not a slice of the line it was split from (a slice can keep its
        // whole chunk of the file alive while the class waits for its k-th person). At 1M persons with
        // events two runs without the copy ran the worker's 192 MB heap out, the run with it completed
        // (docs/BENCHMARKS.md, 2026-12-06); a 200k-person unit measurement showed only 4 MB kept.
        set.add(person === undefined ? String(i) : copyOf(person)); // no person column: a row is a person
        small.set(cls, set.size >= k ? k : set);
      }
    },
    screens,
    runsAllowed ? runs.fast(scanNhs) : undefined,
  );
  for (const [person, n] of rowsOf)
    if (n > mislinked!.get(person)!)
      fail('objections', `${name}: a row of an objector's NHS number (linked to another person) appears`);
  const drawnProblem = drawnEpikeys?.problem();
  if (drawnProblem) fail('identifiers by tier', `${name}: ${drawnProblem}`);
  if (sampled || drawnEpikeys?.size)
    checks.add(
      `source row keys recomputed: sampled persons' episodes (${name}) carry their epikeys keyed under this tier's key`,
    );
  if (mislinked)
    checks.add(
      "no objector's hospital or social-care row shown as another person's (rows per person they were given)",
    );
  checks.add('identifiers as the tier allows (header, formats, no raw NHS number, no full postcode or date)');
  if (codeCols.length) checks.add('codes, never free text, in every coded column');
  if (order) {
    const problem = order.problem();
    if (problem) fail('row order', `${name}: ${problem}`);
    checks.add('row order: no person grouping in files without a person column');
  }
  const withinProblem = within?.problem();
  if (withinProblem) fail('row order', `${name}: ${withinProblem}`);
  if (within) checks.add('row order: within a person, rows do not follow the event periods the file shows');
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
    const audit = drawnIds?.size ? (await auditRows)?.[d.dataset] : undefined;
    if (audit?.size) {
      // Absent as recorded: those k-anonymity left out entirely, and (kᵐ) those who lost every item.
      const absent = removed + (kmItems ? kmEmptied! : 0);
      const emptiedShare = kmItems ? kmEmptied! / Math.max(persons + absent, 1) : 0;
      const problem = auditProblem(audit, seen, persons, absent, deps.anonMaxSuppression + emptiedShare);
      if (problem) fail('k-anonymity', `${name}: ${problem}`);
      checks.add(
        "suppression audited: persons sampled from the release's ledger with rows of the dataset are absent from the file no more than the recorded suppression allows",
      );
    }
  }
  return { ...result, persons };
}
