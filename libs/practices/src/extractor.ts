import { createReadStream, createWriteStream } from 'node:fs';
import { Readable, Transform, TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { READV2_SYSTEM, SNOMED_SYSTEM, objectionFor } from '@custodian/objections';
import { checkDate, DroppedFields, NHS_NUMBER_SYSTEM, stripToSpec, todayUtc } from './fhir';
import { Line, LineSplitter } from './ndjson-lines';

/**
 * The practice-side extractor (SPEC §2): reads the practice system's full FHIR R4 NDJSON export
 * and writes what may leave the practice. Two passes over the file, so memory holds only the
 * objection state of patients with objection entries, never the export.
 *
 * - A patient whose latest Type 1 entry registers an objection leaves only as a marker: a Patient
 *   with its id and NHS number identifier, and their Type 1 objection Observations (code and date).
 * - Everything else is reduced to the extraction specification (`stripToSpec`).
 * - Lines that are not JSON and resources outside the specification do not leave.
 */
export interface ExtractorReport {
  lines: number;
  written: number;
  removed: {
    type1Patients: number;
    type1Resources: number;
    malformedLines: number;
    unsupportedResources: number;
    fields: number;
    byField: DroppedFields;
  };
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const SUBJECT = /^Patient\/(.+)$/;
const subjectOf = (r: Json) => {
  const ref = isObject(r.subject) ? r.subject.reference : undefined;
  return typeof ref === 'string' ? SUBJECT.exec(ref)?.[1] : undefined;
};

function type1Entry(r: Json, today: string): { action: 'register' | 'withdraw'; date: string } | undefined {
  if (r.resourceType !== 'Observation' || !isObject(r.code)) return undefined;
  const codings = Array.isArray(r.code.coding) ? r.code.coding.filter(isObject) : [];
  const coding = codings.find((c) => c.system === SNOMED_SYSTEM || c.system === READV2_SYSTEM);
  if (!coding || typeof coding.code !== 'string') return undefined;
  const o = objectionFor(coding.system as string, coding.code);
  if (!o || o.type !== 'type1') return undefined;
  const d = checkDate(r.effectiveDateTime, today);
  return 'date' in d ? { action: o.action, date: d.date } : undefined;
}

function parse(text: string): Json | undefined {
  try {
    const v = JSON.parse(text);
    return isObject(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

const lines = (file: string) => createReadStream(file).pipe(new LineSplitter(16 * 1024 * 1024));

/** Pass 1: the patient ids whose latest Type 1 entry (by date, then line) registers an objection. */
async function type1Objectors(input: string, today: string): Promise<Set<string>> {
  const latest = new Map<string, { action: string; date: string }>();
  for await (const line of lines(input) as AsyncIterable<Line>) {
    if (!line.text.includes('Observation')) continue;
    const r = parse(line.text);
    const entry = r && type1Entry(r, today);
    const subject = r && subjectOf(r);
    if (!entry || !subject) continue;
    const prev = latest.get(subject);
    if (!prev || entry.date >= prev.date) latest.set(subject, entry);
  }
  return new Set([...latest].filter(([, e]) => e.action === 'register').map(([id]) => id));
}

export async function runExtractor(opts: {
  practiceOds: string;
  input: string;
  output: string;
}): Promise<ExtractorReport> {
  const today = todayUtc();
  const objectors = await type1Objectors(opts.input, today);
  const report: ExtractorReport = {
    lines: 0,
    written: 0,
    removed: {
      type1Patients: 0,
      type1Resources: 0,
      malformedLines: 0,
      unsupportedResources: 0,
      fields: 0,
      byField: Object.create(null) as DroppedFields,
    },
  };
  const removed = report.removed;
  const out = (r: Json) => {
    report.written++;
    return `${JSON.stringify(r)}\n`;
  };
  const transform = new Transform({
    writableObjectMode: true,
    transform(line: Line, _enc: BufferEncoding, done: TransformCallback) {
      report.lines = line.n;
      if (!line.tooLong && !line.text.trim()) return done();
      const r = line.tooLong ? undefined : parse(line.text);
      if (!r) {
        removed.malformedLines++;
        return done();
      }
      if (r.resourceType === 'Patient' && typeof r.id === 'string' && objectors.has(r.id)) {
        removed.type1Patients++;
        const ids = Array.isArray(r.identifier) ? r.identifier.filter(isObject) : [];
        const nhs = ids.find((i) => i.system === NHS_NUMBER_SYSTEM);
        const marker: Json = { resourceType: 'Patient', id: r.id };
        if (nhs) marker.identifier = [{ system: NHS_NUMBER_SYSTEM, value: nhs.value }];
        return done(null, out(marker));
      }
      const subject = r.resourceType !== 'Patient' ? subjectOf(r) : undefined;
      if (subject && objectors.has(subject)) {
        if (type1Entry(r, today)) {
          const { resource } = stripToSpec(r);
          if (resource) return done(null, out(resource));
        }
        removed.type1Resources++;
        return done();
      }
      // Removed fields counted straight into the report's totals.
      const { resource } = stripToSpec(r, removed.byField);
      if (!resource) {
        removed.unsupportedResources++;
        return done();
      }
      done(null, out(resource));
    },
  });
  await pipeline(lines(opts.input), transform, createWriteStream(opts.output));
  removed.byField = Object.fromEntries(
    Object.entries(removed.byField).sort(([a], [b]) => a.localeCompare(b)),
  );
  removed.fields = Object.values(removed.byField).reduce((a, b) => a + b, 0);
  return report;
}

/** Streams an extract file to the centre (`POST /api/practices/:ods/extracts`) and returns its report. */
export async function uploadExtract(opts: {
  url: string;
  practiceOds: string;
  token: string;
  file: string;
}): Promise<{ status: number; body: unknown }> {
  const base = opts.url.replace(/\/+$/, '');
  const url = /\/extracts$/.test(base) ? base : `${base}/api/practices/${opts.practiceOds}/extracts`;
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${opts.token}` },
    body: Readable.toWeb(createReadStream(opts.file)) as unknown as RequestInit['body'],
    duplex: 'half',
  } as RequestInit & { duplex: 'half' });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON: keep the text */
  }
  return { status: res.status, body };
}
