import 'reflect-metadata';
import { CommandFactory } from 'nest-commander';
import { ConfigError, loadConfig } from '@custodian/core';
import { prepareDatabase } from '@custodian/database';
import { CliModule } from './cli.module';

/** Commands that need no database (the practice-side extractor, the synthetic generator) skip it. */
const OFFLINE = new Set<string>(['extract', 'synth', 'verify-register']);

async function main(): Promise<void> {
  const config = loadConfig();
  const command = process.argv[2];
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const db = command && OFFLINE.has(command) ? undefined : await prepareDatabase(config, say);
  try {
    await CommandFactory.run(CliModule.forRoot(config, db?.url), {
      logger: ['error', 'warn'],
      errorHandler: (e) => {
        throw e;
      },
      // A command that fails (a refused password, an unreachable service…) exits non-zero; by
      // default nest-commander printed the error and exited 0.
      serviceErrorHandler: (e) => {
        throw e;
      },
    });
  } finally {
    await db?.stop();
  }
}

main().catch((err) => {
  // Commander has printed its own line (help, an unknown command or option): its exit code, no
  // second "error: error: …" (`--help` printed "error: (outputHelp)": a new user's tryout).
  const commander = err as { code?: string; exitCode?: number };
  if (typeof commander.code === 'string' && commander.code.startsWith('commander.'))
    process.exit(commander.exitCode ?? 1);
  console.error(
    err instanceof ConfigError ? err.message : `error: ${err instanceof Error ? err.message : err}`,
  );
  process.exit(1);
});
