import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * zxcvbn-ts's guess estimate of a password, in a thread of its own. The estimator's code and
 * dictionaries cost a process ~20 MB for as long as they are loaded (docs/BENCHMARKS.md, "Memory"),
 * and a password is checked rarely (an account created, a password changed, `ADMIN_PASSWORD` once
 * at start): the thread loads them, answers the checks that come while it is busy or soon after,
 * and exits after `IDLE_MS` (1 s) without one, taking its heap with it. One thread at a time: a burst of
 * checks waits in line instead of loading the dictionaries once per check.
 */
const IDLE_MS = 1_000;

const requireHere = createRequire(__filename);
const MODULES = {
  core: requireHere.resolve('@zxcvbn-ts/core'),
  common: requireHere.resolve('@zxcvbn-ts/language-common'),
};

/** The thread's code (CommonJS, evaluated: no compiled file to find beside this module in tests). */
const SCRIPT = `
const { parentPort, workerData } = require('node:worker_threads');
const { ZxcvbnFactory } = require(workerData.core);
const estimator = new ZxcvbnFactory({ ...require(workerData.common) });
parentPort.on('message', ({ id, password, inputs }) => {
  parentPort.postMessage({ id, score: estimator.check(password, inputs).score });
});
`;

interface Waiting {
  resolve: (score: number) => void;
  reject: (e: Error) => void;
}

let current: { worker: Worker; waiting: Map<number, Waiting> } | undefined;
let nextId = 0;
let idle: NodeJS.Timeout | undefined;

/** zxcvbn's score (0–4) of `password`, with `inputs` (the user's own strings) as a dictionary. */
export function passwordScore(password: string, inputs: string[]): Promise<number> {
  if (idle) clearTimeout(idle);
  const thread = (current ??= start());
  const id = nextId++;
  return new Promise<number>((resolve, reject) => {
    thread.waiting.set(id, { resolve, reject });
    thread.worker.postMessage({ id, password, inputs });
  });
}

function start(): { worker: Worker; waiting: Map<number, Waiting> } {
  const worker = new Worker(SCRIPT, {
    eval: true,
    workerData: MODULES,
    resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 4 },
  });
  worker.unref();
  const waiting = new Map<number, Waiting>();
  const thread = { worker, waiting };
  worker.on('message', ({ id, score }: { id: number; score: number }) => {
    waiting.get(id)?.resolve(score);
    waiting.delete(id);
    if (waiting.size === 0 && current === thread) {
      idle = setTimeout(() => {
        if (current === thread && waiting.size === 0) {
          current = undefined;
          void worker.terminate();
        }
      }, IDLE_MS);
      idle.unref();
    }
  });
  const fail = (e: Error) => {
    if (current === thread) current = undefined;
    for (const w of waiting.values()) w.reject(e);
    waiting.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`password estimator thread exited (${code})`)));
  return thread;
}

/** Whether the estimator's thread is running (its dictionaries loaded). */
export function estimatorRunning(): boolean {
  return current !== undefined;
}
