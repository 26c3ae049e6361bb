import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from './config';

/**
 * SPEC §8: `DATA_DIR` is validated at boot like the other settings. It was first touched by a
 * release's worker, so a directory that cannot be made or written gave "Custodian is running" and a
 * healthy service whose every release failed (probe 22). Made here (owner only), and written once.
 */
export async function ensureDataDir(dir: string): Promise<void> {
  const probe = path.join(dir, `.write-check-${process.pid}`);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(probe, '');
    await rm(probe, { force: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new ConfigError([`DATA_DIR: ${dir} cannot be created or written (${code})`]);
  }
}

/**
 * What a start that failed says, in one line naming the setting where it can tell (SPEC §8: "a bad
 * value stops the process with a message naming the variable"): the database refusing or not
 * there, the port taken. Anything else keeps its message, and its stack at `LOG_LEVEL=debug`.
 */
export function startFailure(err: unknown, what: string, port?: number): string {
  if (err instanceof ConfigError) return err.message;
  const e = err as { code?: string; message?: string; stack?: string; syscall?: string };
  const message = e?.message ?? String(err);
  const code = e?.code ?? '';
  if (code === 'EADDRINUSE') return `PORT: ${port ?? 'the port'} is already in use (${what} did not start)`;
  if (code === 'EACCES' && e.syscall === 'listen')
    return `PORT: ${port ?? 'the port'} may not be listened on by this user (${what} did not start)`;
  if (
    [
      '28P01',
      '28000',
      '3D000',
      'ECONNREFUSED',
      'ENOTFOUND',
      'EAI_AGAIN',
      'ETIMEDOUT',
      'EHOSTUNREACH',
    ].includes(code)
  )
    return `DATABASE_URL: cannot use the database: ${message} (${what} did not start)`;
  const stack = process.env.LOG_LEVEL === 'debug' && e?.stack ? `\n${e.stack}` : '';
  return `${what} failed to start: ${message}${stack}`;
}
