import { createReadStream, createWriteStream, existsSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { Transform, TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isValidNhsNumber } from '@custodian/core/nhs-number';
import { normalisePostcode } from '@custodian/core/postcode';
import { DroppedFields, LINKAGE_KEY_SHARED_URL, stripToSpec } from './fhir-spec';
import { ExtractRefusedError, type ExtractorReport } from './extractor-report';
import { Line, LineSplitter } from './ndjson-lines';
import { completeForR4 } from './r4-required';
import { canonicalObjections } from './objection-canonical';
import { People } from './extractor-people';
import { CONDITION_VERIFICATION_SYSTEM, ENTERED_IN_ERROR, notARecordOf, R4_ID } from './r4-types';
import { RejectionTally } from './rejections';
import {
  instantUtc,
  mayCarryObjectionCode,
  NHS_NUMBER_SYSTEM,
  objectionEntriesOf,
  OBJECTION_DATE_FIELDS,
  patientNhsNumbers,
  readObjection,
  subjectsOf,
  unreadObjection,
  type ObjectionReading,
} from './objection-entry';

/**
 * The practice-side extractor (SPEC §2): reads the practice system's full FHIR R4 NDJSON export
 * and writes what may leave the practice. Two passes over the file, so memory holds the NHS
 * numbers of the export's Patients and its Type 1 entries, never the export.
 *
 * - Objections are read by `readObjection` (objection-entry.ts), the intake's own reading: any
 *   coding, any valid form of subject reference or an NHS-number identifier, any date form.
 * - Type 1 is decided per person — by NHS number, so that duplicate Patient records of one person
 *   are one objector — latest instant winning (UTC, to the second; on a tie the objection).
 * - A Type 1 objector leaves only as a marker (one Patient with its id and NHS number identifier
 *   per NHS number) and their Type 1 objection Observations (naming the person by NHS number
 *   alone, so that the centre applies them whichever duplicate record they named).
 * - An objection (a registration) that names no patient that can be found refuses the whole export
 *   (`ExtractRefusedError`, nothing written): nobody could be shown not to be its objector.
 * - Everything else is reduced to the extraction specification (`stripToSpec`); a patient who has a
 *   Type 1 objector's sex, DOB and postcode is marked so (`sharesKeyWithObjector`, issue #26).
 * - Lines that are not JSON and resources outside the specification do not leave.
 */
export { ExtractRefusedError, type ExtractorReport };

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A line's JSON object (past a byte order mark), or undefined. */
function parse(text: string): Json | undefined {
  try {
    const v = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    return isObject(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The export must be a file that can be read, and the extract another file: the same path (or a
 * link to it) was emptied by the output's opening before it was read, the export lost and
 * "read 0 line(s)" reported (a new user's tryout, 2026-12-07); a missing export was a stack trace.
 */
function checkFiles(input: string, output: string): void {
  let st: Stats;
  try {
    st = statSync(input);
  } catch {
    throw new Error(`--input: no file ${JSON.stringify(input)} to read`);
  }
  if (!st.isFile()) throw new Error(`--input: ${JSON.stringify(input)} is not a file`);
  const out = existsSync(output) ? statSync(output) : undefined;
  if (path.resolve(input) === path.resolve(output) || (out && out.dev === st.dev && out.ino === st.ino))
    throw new Error(
      '--output is the export itself: writing the extract would destroy it (give another file)',
    );
}

const lines = (file: string) =>
  createReadStream(file).pipe(new LineSplitter(16 * 1024 * 1024, mayCarryObjectionCode));

const MAY_MATTER = ['Patient', ...Object.keys(OBJECTION_DATE_FIELDS)];

interface Type1Entry {
  ids: string[];
  nhsNumbers: string[];
  action: 'register' | 'withdraw';
  instant: string;
  line: number;
}

/**
 * The key linkage step 6 compares (sex + DOB + postcode, docs/LINKAGE.md), of a Patient, or undefined
 * where steps 6 and 7 cannot use it (sex not male/female, no DOB or 1 January, no postcode or ZZ99).
 */
function demographicKey(r: Json): string | undefined {
  const sex = r.gender === 'male' ? 'M' : r.gender === 'female' ? 'F' : undefined;
  const dob =
    typeof r.birthDate === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(r.birthDate) ? r.birthDate : undefined;
  const address = (Array.isArray(r.address) ? r.address : []).find(
    (a): a is Json => isObject(a) && a.postalCode !== undefined,
  );
  const postcode =
    typeof address?.postalCode === 'string' ? normalisePostcode(address.postalCode) : undefined;
  if (!sex || !dob || dob.endsWith('-01-01') || !postcode || postcode.startsWith('ZZ99')) return undefined;
  return `${sex}|${dob}|${postcode}`;
}

interface Pass1 {
  people: People;
  /** Demographic key → the person keys of the Patients that have it (issue #26: twins). */
  byDemographics: Map<string, Set<string>>;
  /** Person key → the instant of the Type 1 objection that decides it (active objectors only). */
  objectors: Map<string, string>;
  warnings: { line: number; reason: string }[];
}

/** Pass 1: every Patient's NHS numbers, the Type 1 entries, and from them the active objectors. */
async function type1Objectors(input: string, received: string): Promise<Pass1> {
  const people = new People();
  const byDemographics = new Map<string, Set<string>>();
  const patientKeys: { ids: string[]; nhs: string[]; demo: string }[] = [];
  const entries: Type1Entry[] = [];
  const warnings: { line: number; reason: string }[] = [];
  const otherWithdrawals: { ids: string[]; nhsNumbers: string[]; line: number }[] = [];
  const unresolved: { line: number; reason: string }[] = [];
  for await (const line of lines(input) as AsyncIterable<Line>) {
    // A line too long to read whose bytes carry an objection code may be an objection: the export
    // is refused (fail closed), as the centre refuses such an extract.
    if (line.tooLong && line.watched)
      unresolved.push({ line: line.n, reason: 'line too long to read, carrying an objection code' });
    if (line.tooLong) continue;
    // Only Patients and the resources an objection may be on need parsing here — and any line that
    // may carry an objection code: one the reader does not recognise refuses the export (fail
    // closed, as the centre's intake does), never leaves as an ordinary line.
    const matters = MAY_MATTER.some((w) => line.text.includes(w));
    const r = matters || mayCarryObjectionCode(line.text) ? parse(line.text) : undefined;
    const unread = unreadObjection(line.text, r);
    if (unread) {
      unresolved.push({ line: line.n, reason: unread });
      continue;
    }
    if (!r || !matters) continue;
    if (r.resourceType === 'Patient') {
      people.addPatient(r);
      const demo = demographicKey(r);
      if (demo)
        patientKeys.push({ ids: typeof r.id === 'string' ? [r.id] : [], nhs: patientNhsNumbers(r), demo });
      continue;
    }
    const o = readObjection(r, received);
    if (o.kind === 'unresolved') unresolved.push({ line: line.n, reason: o.reason });
    if (o.kind === 'rejected') {
      const reason = o.reason.endsWith('(not applied)')
        ? o.reason
        : `${o.reason} (a withdrawal, not applied)`;
      warnings.push({ line: line.n, reason });
    }
    if (o.kind !== 'objection') continue;
    if (o.warning) warnings.push({ line: line.n, reason: o.warning });
    for (const e of o.entries)
      if (e.type === 'type1')
        entries.push({ ...o.subjects, action: e.action, instant: o.instant, line: line.n });
      else if (e.action === 'withdraw') otherWithdrawals.push({ ...o.subjects, line: line.n });
  }
  // A Type 2 withdrawal naming two persons is not written either: said so (review-18).
  for (const w of otherWithdrawals)
    if (people.persons(people.keys(w.ids, w.nhsNumbers)) > 1)
      warnings.push({ line: w.line, reason: 'subject: a withdrawal naming two patients (not applied)' });
  if (unresolved.length) throw new ExtractRefusedError(unresolved);
  // Latest instant per person; on an exact tie the objection beats the withdrawal.
  const latest = new Map<string, Type1Entry>();
  for (const e of entries) {
    const keys = people.keys(e.ids, e.nhsNumbers);
    if (e.action === 'withdraw' && people.persons(keys) > 1) {
      // Withdrawing for everyone named could release someone who never withdrew.
      warnings.push({
        line: e.line,
        reason: 'subject: a withdrawal naming two patients (not applied)',
      });
      continue;
    }
    for (const k of keys) {
      const prev = latest.get(k);
      if (!prev || e.instant > prev.instant || (e.instant === prev.instant && e.action === 'register'))
        latest.set(k, e);
    }
  }
  const objectors = new Map<string, string>();
  for (const [k, e] of latest) if (e.action === 'register') objectors.set(k, e.instant);
  warnings.sort((a, b) => a.line - b.line);
  // Persons by demographic key, once every Patient's NHS numbers are known (one person, one key).
  for (const { ids, nhs, demo } of patientKeys) {
    const set = byDemographics.get(demo) ?? new Set<string>();
    for (const k of people.keys(ids, nhs)) set.add(k);
    byDemographics.set(demo, set);
  }
  return { people, objectors, warnings, byDemographics };
}

export async function runExtractor(opts: {
  practiceOds: string;
  input: string;
  output: string;
}): Promise<ExtractorReport> {
  checkFiles(opts.input, opts.output);
  // One "time received" for both passes: an objection without a readable date counts from it.
  const received = instantUtc();
  const { people, objectors, warnings, byDemographics } = await type1Objectors(opts.input, received);
  /**
   * A patient who does not object has the same sex, DOB and postcode (linkage's step-6 key) as a Type 1
   * objector of this export (twins at one address): their record carries LINKAGE_KEY_SHARED_URL, so
   * that the centre counts one more person with that key and never gives a hospital or social-care
   * row that could be the objector's to the twin (SPEC §3; issue #26). Nothing of the objector leaves.
   */
  const sharesKeyWithObjector = (r: Json) => {
    const demo = demographicKey(r);
    const persons = demo ? byDemographics.get(demo) : undefined;
    if (!persons) return false;
    const own = people.keysOfPatient(r);
    return [...persons].some((p) => !own.includes(p) && objectors.has(p));
  };

  const report: ExtractorReport = {
    lines: 0,
    blankLines: 0,
    written: 0,
    patientsSharingKeyWithType1: 0,
    removed: {
      type1Patients: 0,
      type1Resources: 0,
      malformedLines: 0,
      unsupportedResources: 0,
      incompleteResources: 0,
      invalidResources: 0,
      enteredInError: 0,
      notHappened: 0,
      statusUnknown: 0,
      fields: 0,
      byField: Object.create(null) as DroppedFields,
    },
    warnings,
    rejected: [],
  };
  const removed = report.removed;
  const rejected = new RejectionTally();
  const markers = new Set<string>();
  /** An objection entry as `readObjection` reads it, else undefined. */
  const objectionOf = (r: Json): ObjectionReading | undefined => {
    if (!OBJECTION_DATE_FIELDS[r.resourceType as string] || !objectionEntriesOf(r.code).length)
      return undefined;
    return readObjection(r, received);
  };
  /**
   * The line a resource is written as (FHIR R4: r4-required.ts), or '' when it cannot be (line `n`
   * reported). Objection entries and markers are always written.
   */
  const out = (r: Json, n: number, marker = false) => {
    const complete = completeForR4(r, marker ? 'marker' : objectionOf(r));
    if (!complete.ok) {
      if (complete.reason.endsWith('(FHIR R4 requires it)')) removed.incompleteResources++;
      else removed.invalidResources++;
      rejected.add(n, complete.reason);
      return '';
    }
    if (complete.statusUnknown) removed.statusUnknown++;
    report.written++;
    return `${JSON.stringify(complete.resource)}\n`;
  };
  let lineNo = 0;
  const emit = (r: Json, done: TransformCallback, marker = false) => {
    const line = out(r, lineNo, marker);
    return line ? done(null, line) : done();
  };
  const objectorKeys = (keys: string[]) => keys.filter((k) => objectors.has(k));
  const transform = new Transform({
    writableObjectMode: true,
    transform(line: Line, _enc: BufferEncoding, done: TransformCallback) {
      report.lines = lineNo = line.n;
      if (!line.tooLong && !line.text.trim()) {
        report.blankLines++;
        return done();
      }
      const r = line.tooLong ? undefined : parse(line.text);
      if (!r) {
        removed.malformedLines++;
        return done();
      }
      if (r.resourceType === 'Patient') {
        const keys = objectorKeys(people.keysOfPatient(r));
        if (!keys.length) return passOn(r, done);
        // One marker per person: duplicate records of one NHS number would refuse each other. Persons
        // are counted, not their records (a person of two records counted twice: a new user's tryout).
        if (keys.some((k) => markers.has(k))) return done();
        removed.type1Patients++;
        for (const k of keys) markers.add(k);
        const ids = Array.isArray(r.identifier) ? r.identifier.filter(isObject) : [];
        const nhs = ids.find((i) => i.system === NHS_NUMBER_SYSTEM);
        // Its id where R4 (review-17: `p_1` made the output not R4); the centre deletes by NHS number.
        const marker: Json = {
          resourceType: 'Patient',
          ...(typeof r.id === 'string' && R4_ID.test(r.id) && { id: r.id }),
        };
        if (nhs) marker.identifier = [{ system: NHS_NUMBER_SYSTEM, value: nhs.value }];
        return emit(marker, done, true);
      }
      const o = objectionOf(r);
      const text = o && objectionLines(r, o);
      if (o) return text ? done(null, text) : done();
      const s = subjectsOf(r.subject);
      if (!objectorKeys(people.keys(s.ids, s.nhsNumbers)).length) return passOn(r, done);
      removed.type1Resources++;
      done();
    },
  });

  /**
   * An objection entry leaves as the practice applied it (canonicalObjections), whoever it names —
   * a Type 1 objector's Type 2 entry too (review-17: an entry naming an objector was dropped unless
   * Type 1, and the centre lost other patients' objections on it). Not applied, it does not leave:
   * a withdrawal naming two persons (the first pass applies none), and an objector's Type 1
   * withdrawal unless of a day before the deciding objection. A registration also names every valid
   * NHS number of the persons it names, so the centre finds each (a record of two NHS numbers).
   */
  function objectionLines(r: Json, o: ObjectionReading): string {
    if (o.kind !== 'objection') return '';
    const persons = people.keys(o.subjects.ids, o.subjects.nhsNumbers);
    const mine = objectorKeys(persons);
    const late = (e: { type: string; action: string }) =>
      e.type === 'type1' && mine.some((k) => o.date >= objectors.get(k)!.slice(0, 10));
    const entries = o.entries.filter(
      (e) => e.action === 'register' || (people.persons(persons) < 2 && !late(e)),
    );
    // A reference to a record of the export with a valid NHS number is named by its numbers (every
    // one: a record of two), else kept (a record the centre may hold from an earlier extract).
    const numbersOf = (id: string) =>
      people
        .keys([id], [])
        .map((k) => k.slice(4))
        .filter(isValidNhsNumber);
    const ids = o.subjects.ids.filter((id) => !numbersOf(id).length);
    const all = persons.filter((k) => k.startsWith('nhs:')).map((k) => k.slice(4));
    const nhsNumbers = [...new Set([...o.subjects.nhsNumbers, ...all.filter(isValidNhsNumber)])];
    const written = canonicalObjections(
      r,
      { ...o, entries, subjects: { ...o.subjects, ids, nhsNumbers } },
      received,
    );
    return written.map((x) => out(x, lineNo)).join('');
  }

  function passOn(r: Json, done: TransformCallback) {
    // Removed fields counted straight into the report's totals.
    const { resource } = stripToSpec(r, removed.byField);
    if (!resource) {
      removed.unsupportedResources++;
      return done();
    }
    // A record made in error, or of what did not happen, leaves marked so (a Condition's
    // verificationStatus, which the strip drops, put back): the centre stores nothing of it and
    // removes what an earlier extract sent under its id (it stayed, or a refuted diagnosis was
    // stored as one).
    const negated = notARecordOf(r);
    if (negated) {
      if (negated === ENTERED_IN_ERROR) removed.enteredInError++;
      else removed.notHappened++;
      if (resource.resourceType === 'Condition')
        resource.verificationStatus = { coding: [{ system: CONDITION_VERIFICATION_SYSTEM, code: negated }] };
      else resource.status = negated;
      return emit(resource, done);
    }
    if (resource.resourceType === 'Patient' && sharesKeyWithObjector(r)) {
      const exts = Array.isArray(resource.extension) ? resource.extension.filter(isObject) : [];
      resource.extension = [
        ...exts.filter((e) => e.url !== LINKAGE_KEY_SHARED_URL),
        { url: LINKAGE_KEY_SHARED_URL, valueBoolean: true },
      ];
      report.patientsSharingKeyWithType1++;
    }
    emit(resource, done);
  }

  await pipeline(lines(opts.input), transform, createWriteStream(opts.output));
  removed.byField = Object.fromEntries(
    Object.entries(removed.byField).sort(([a], [b]) => a.localeCompare(b)),
  );
  removed.fields = Object.values(removed.byField).reduce((a, b) => a + b, 0);
  report.rejected = rejected.lines();
  return report;
}
