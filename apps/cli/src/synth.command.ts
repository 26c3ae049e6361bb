import { resolve } from 'node:path';
import { Command, CommandRunner, Option } from 'nest-commander';
import {
  DEFAULT_ERROR_MODEL,
  DEFAULT_EVENTS_PER_PATIENT,
  DEFAULT_SEED,
  ErrorModel,
  generate,
  parseErrorModel,
} from '@custodian/synth';

interface SynthFlags {
  practices?: number;
  patients?: number;
  out?: string;
  seed?: number;
  eventsPerPatient?: number;
  asOf?: string;
  errors?: Partial<ErrorModel>;
}

function positiveInt(name: string, v: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`--${name} must be an integer from ${min} to ${max}`);
  return n;
}

@Command({
  name: 'synth',
  description:
    'Write synthetic practice exports (FHIR NDJSON), hes.csv, social_care.csv and manifest.json (no database)',
})
export class SynthCommand extends CommandRunner {
  async run(_args: string[], opts: SynthFlags): Promise<void> {
    if (!opts.out) throw new Error('give --out DIR');
    const started = process.hrtime.bigint();
    let peakRss = process.memoryUsage().rss;
    const manifest = await generate({
      practices: opts.practices ?? 20,
      patients: opts.patients ?? 100_000,
      seed: opts.seed ?? DEFAULT_SEED,
      eventsPerPatient: opts.eventsPerPatient ?? DEFAULT_EVENTS_PER_PATIENT,
      asOf: opts.asOf,
      errors: opts.errors ?? parseErrorModel(process.env.SYNTH_ERRORS ?? ''),
      outDir: resolve(opts.out),
      progressEvery: 100_000,
      onProgress: ({ patients, events }) => {
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
        process.stderr.write(`  ${patients} patients, ${events} events\n`);
      },
    });
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const bytes = manifest.files.reduce((acc, f) => acc + f.bytes, 0);
    const c = manifest.counts;
    console.log(
      [
        `wrote ${manifest.files.length} files (${(bytes / 1e6).toFixed(1)} MB) to ${resolve(opts.out)}`,
        `  ${c.practices} practices, ${c.patients} patients, ${c.events} events, ${c.resources} resources`,
        `  objectors: type 1 ${c.objectors.type1.patients} (${c.objectors.type1.active} active), type 2 ${c.objectors.type2.patients} (${c.objectors.type2.active} active)`,
        `  hes.csv ${c.hesRows} rows, social_care.csv ${c.socialCareRows} rows`,
        `  ${seconds.toFixed(1)} s, ${(bytes / 1e6 / seconds).toFixed(1)} MB/s, peak RSS ${(peakRss / 1048576).toFixed(0)} MiB (sampled)`,
      ].join('\n'),
    );
  }

  @Option({ flags: '--practices <n>', description: 'number of practices (default 20)' }) practices(
    v: string,
  ) {
    return positiveInt('practices', v, 1);
  }
  @Option({ flags: '--patients <n>', description: 'number of registered patients (default 100000)' })
  patients(v: string) {
    return positiveInt('patients', v);
  }
  @Option({ flags: '--out <dir>', description: 'output directory' }) out(v: string) {
    return v;
  }
  @Option({ flags: '--seed <n>', description: `seed (default ${DEFAULT_SEED})` }) seed(v: string) {
    return positiveInt('seed', v, 0, 0xffffffff);
  }
  @Option({
    flags: '--events-per-patient <n>',
    description: `mean clinical events per patient (default ${DEFAULT_EVENTS_PER_PATIENT})`,
  })
  eventsPerPatient(v: string) {
    const n = Number(v);
    if (!(n >= 0)) throw new Error('--events-per-patient must be a number ≥ 0');
    return n;
  }
  @Option({
    flags: '--as-of <date>',
    description: 'the generator\'s "today", YYYY-MM-DD (default 2025-12-31)',
  })
  asOf(v: string) {
    return v;
  }
  @Option({
    flags: '--errors <key=value,…>',
    description: `the error model of hes.csv and social_care.csv (also SYNTH_ERRORS), shares from 0 to 1: ${Object.keys(DEFAULT_ERROR_MODEL).join(', ')}`,
  })
  errors(v: string) {
    return parseErrorModel(v);
  }
}
