import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';

/** The compiled worker entry point, beside this app's in `dist/apps`. */
const WORKER_MAIN = path.join(__dirname, '../../worker/src/main.js');

/**
 * `npm start` is the whole service: the API, and the job worker (`apps/worker`) as a child process
 * of its own — its own heap cap and memory (a release shard in the API's process would push it past
 * its budget), and a crash in a job cannot take the API down. It runs with this process's Node
 * flags and environment, on this process's database. Restarted when it exits unexpectedly (after
 * 1 s, doubling to 30 s while it keeps failing); stopped before the API's database is.
 */
export class WorkerSupervisor {
  private child?: ChildProcess;
  private stopping = false;
  private delayMs = 1000;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly say: (line: string) => void,
  ) {
    // Ctrl-C in a terminal signals the worker too (one process group): it is stopping, not dying.
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => (this.stopping = true));
  }

  start(): void {
    // One worker at a time: a second call while one runs (or a restart is due) does nothing.
    if (this.stopping || this.child || this.timer) return;
    const startedAt = Date.now();
    const child = spawn(process.execPath, [...workerArgs(process.execArgv), WORKER_MAIN], {
      env: this.env,
      // The IPC channel carries nothing: it closes when this process dies, however it dies (even
      // SIGKILL), and the worker then stops rather than outlive the service as an orphan.
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child = child;
    let gone = false;
    const onGone = (why: string) => {
      if (gone) return;
      gone = true;
      if (this.child === child) this.child = undefined;
      if (this.stopping) return;
      // A worker that ran for a minute was healthy: start again from the shortest wait.
      if (Date.now() - startedAt > 60_000) this.delayMs = 1000;
      this.say(`job worker ${why}; starting another in ${this.delayMs / 1000} s`);
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.start();
      }, this.delayMs);
      this.delayMs = Math.min(this.delayMs * 2, 30_000);
    };
    child.on('exit', (code, signal) => onGone(`exited (${signal ?? code})`));
    child.on('error', (e) => onGone(`could not start (${e.message})`));
  }

  /** SIGTERM (the worker finishes or hands back its jobs), SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(kill);
  }
}

/**
 * The API's Node flags for its worker child, but with the young generation `npm run worker` gives a
 * worker (4 MB semi-spaces). The API runs with 2 MB, measured on the API only: its peak under a
 * 900k-line upload fell from 201–214 to 191–200 MB, with the API benchmark's p99 unchanged
 * (docs/BENCHMARKS.md, "Ingest, 2026-12-06").
 */
export function workerArgs(execArgv: string[]): string[] {
  return execArgv.map((a) => (a.startsWith('--max-semi-space-size=') ? '--max-semi-space-size=4' : a));
}
