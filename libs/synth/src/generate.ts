import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorModel } from './error-model';
import { eventLines, isActive, objectionHistory, objectionLines, patientLine, RecordCounts } from './fhir';
import { PopulationOptions, Population, PracticePlan } from './population';
import {
  HES_HEADER,
  SecondaryCounts,
  SecondaryGenerator,
  SOCIAL_CARE_HEADER,
  TRUTH_HEADER,
} from './secondary';
import { LineFile, WrittenFile } from './writer';

export const GENERATOR_NAME = '@custodian/synth';
/** Bump when the output for a given seed changes. */
export const GENERATOR_VERSION = '1.1.0';

export interface SynthOptions extends PopulationOptions {
  /** Directory to write into (created if missing; files of the same names are replaced). */
  outDir: string;
  /** Called every `progressEvery` patients (default 50 000). */
  onProgress?: (done: { patients: number; events: number }) => void;
  progressEvery?: number;
}

export interface ObjectorCounts {
  /** Patients with at least one objection entry of the type. */
  patients: number;
  /** Patients whose latest entry of the type is a registration. */
  active: number;
  withdrawn: number;
  reRegistered: number;
}

export interface SynthManifest {
  generator: { name: string; version: string };
  seed: number;
  asOf: string;
  eventsPerPatient: number;
  /** The secondary files' imperfections and the share of twins (docs/SYNTHETIC_DATA.md). */
  errors: ErrorModel;
  counts: {
    practices: number;
    patients: number;
    /** Clinical events (conditions, procedures, medications, observations; not objections). */
    events: number;
    conditions: number;
    procedures: number;
    medications: number;
    observations: number;
    /** Objection Observations (registrations and withdrawals) in the practice exports. */
    objectionEntries: number;
    /** Every NDJSON line of the practice exports. */
    resources: number;
    objectors: { type1: ObjectorCounts; type2: ObjectorCounts };
  } & SecondaryCounts;
  practices: {
    ods: string;
    name: string;
    area: string;
    districts: string[];
    patients: number;
    file: string;
  }[];
  files: WrittenFile[];
}

/** One practice's full export (Patient, then their events and objections), as NDJSON lines. */
export function* practiceLines(pop: Population, practice: PracticePlan): Generator<string> {
  const counts = emptyRecordCounts();
  for (let i = practice.firstPatient; i < practice.firstPatient + practice.patients; i++) {
    const p = pop.person(i, practice);
    const lines: string[] = [patientLine(pop, p, practice)];
    eventLines(pop, p, (l) => lines.push(l), counts);
    objectionLines(pop, p, objectionHistory(pop, p), (l) => lines.push(l));
    yield* lines;
  }
}

function emptyRecordCounts(): RecordCounts {
  return { events: 0, conditions: 0, procedures: 0, medications: 0, observations: 0, objectionEntries: 0 };
}

function emptyObjectors(): ObjectorCounts {
  return { patients: 0, active: 0, withdrawn: 0, reRegistered: 0 };
}

/**
 * Writes the synthetic population: one FHIR NDJSON export per practice (`<ODS>.ndjson`),
 * `hes.csv`, `social_care.csv`, `linkage_truth.csv` (what each secondary row really is) and
 * `manifest.json`. Same options and seed → byte-identical files.
 */
export async function generate(opts: SynthOptions): Promise<SynthManifest> {
  const pop = new Population(opts);
  await mkdir(opts.outDir, { recursive: true });
  const record = emptyRecordCounts();
  const objectors = { type1: emptyObjectors(), type2: emptyObjectors() };
  const every = opts.progressEvery ?? 50_000;
  const hes = new LineFile(join(opts.outDir, 'hes.csv'), 'hes.csv');
  const social = new LineFile(join(opts.outDir, 'social_care.csv'), 'social_care.csv');
  const truth = new LineFile(join(opts.outDir, 'linkage_truth.csv'), 'linkage_truth.csv');
  hes.write(`${HES_HEADER}\n`);
  social.write(`${SOCIAL_CARE_HEADER}\n`);
  truth.write(`${TRUTH_HEADER}\n`);
  const secondary = new SecondaryGenerator(pop, {
    hes: (l) => hes.write(l),
    socialCare: (l) => social.write(l),
    truth: (l) => truth.write(l),
  });
  const open = new Set<LineFile>([hes, social, truth]);
  const files: WrittenFile[] = [];
  let resources = 0;
  let done = 0;
  try {
    for (const practice of pop.practices) {
      const out = new LineFile(join(opts.outDir, `${practice.ods}.ndjson`), `${practice.ods}.ndjson`);
      open.add(out);
      const emit = (l: string) => {
        out.line(l);
        resources++;
      };
      for (let i = practice.firstPatient; i < practice.firstPatient + practice.patients; i++) {
        const p = pop.person(i, practice);
        emit(patientLine(pop, p, practice));
        eventLines(pop, p, emit, record);
        const history = objectionHistory(pop, p);
        objectionLines(pop, p, history, emit);
        record.objectionEntries += history.entries.length;
        for (const type of ['type1', 'type2'] as const) {
          const entries = history.entries.filter((e) => e.type === type);
          if (!entries.length) continue;
          const o = objectors[type];
          o.patients++;
          if (isActive(history, type)) o.active++;
          if (entries.some((e) => e.action === 'withdraw')) o.withdrawn++;
          if (entries.filter((e) => e.action === 'register').length > 1) o.reRegistered++;
        }
        secondary.forPatient(p);
        if (out.blocked || hes.blocked || social.blocked || truth.blocked)
          await Promise.all([out.ready(), hes.ready(), social.ready(), truth.ready()]);
        if (++done % every === 0) opts.onProgress?.({ patients: done, events: record.events });
      }
      files.push(await out.close());
      open.delete(out);
    }
    for (const f of [hes, social, truth]) {
      files.push(await f.close());
      open.delete(f);
    }
  } catch (err) {
    for (const f of open) f.destroy();
    throw err;
  }
  const manifest: SynthManifest = {
    generator: { name: GENERATOR_NAME, version: GENERATOR_VERSION },
    seed: pop.seed,
    asOf: pop.asOf,
    eventsPerPatient: pop.eventsPerPatient,
    errors: pop.errors,
    counts: {
      practices: pop.practices.length,
      patients: pop.patients,
      events: record.events,
      conditions: record.conditions,
      procedures: record.procedures,
      medications: record.medications,
      observations: record.observations,
      objectionEntries: record.objectionEntries,
      resources,
      objectors,
      ...secondary.counts,
    },
    practices: pop.practices.map((p) => ({
      ods: p.ods,
      name: p.name,
      area: p.area.area,
      districts: p.districts.map((d) => `${p.area.area}${d}`),
      patients: p.patients,
      file: `${p.ods}.ndjson`,
    })),
    files,
  };
  await writeFile(join(opts.outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
