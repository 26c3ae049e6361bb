import 'reflect-metadata';
import { CommandFactory } from 'nest-commander';
import { ConfigError, loadConfig } from '@custodian/core';
import { prepareDatabase } from '@custodian/database';
import { CliModule } from './cli.module';

/**
 * The commands that use the database; every other (the practice-side extractor, the synthetic
 * generator), help, no command and a misspelt one open none. Asking for help or a typo started the
 * embedded database and applied every migration before the arguments were read, against
 * DATABASE_URL too (probe 22): only these do, and only when run.
 */
const ONLINE = new Set<string>(['migrate', 'create-admin', 'verify-audit']);
/** The online commands' options that take a value (commands.ts). */
const VALUE_OPTIONS = new Set<string>(['--email', '--password', '--name', '--roles']);

async function main(): Promise<void> {
  const config = loadConfig();
  const [command, ...rest] = process.argv.slice(2);
  // Asked for help: `-h`/`--help` as an argument of its own, not the value of an option before it
  // (`create-admin --password -h`: review-22's note). Options with a value are written `--name <v>`.
  const help = rest.some((a, i) => (a === '-h' || a === '--help') && !VALUE_OPTIONS.has(rest[i - 1] ?? ''));
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const db = command && ONLINE.has(command) && !help ? await prepareDatabase(config, say) : undefined;
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
