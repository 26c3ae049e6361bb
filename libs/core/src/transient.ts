/** PostgreSQL's SQLSTATEs for a transaction it rolled back so that another could go on. */
export const TRANSIENT_SQLSTATES: ReadonlySet<string> = new Set([
  '40P01', // deadlock_detected
  '40001', // serialization_failure
]);

/** The SQLSTATE of a transaction PostgreSQL rolled back as a deadlock's victim (or a serialisation failure). */
export function transientSqlState(err: unknown): string | undefined {
  for (
    let e = err as { code?: unknown; driverError?: unknown; cause?: unknown } | undefined, i = 0;
    e && i < 4;
    i++
  ) {
    if (typeof e.code === 'string' && TRANSIENT_SQLSTATES.has(e.code)) return e.code;
    e = (e.driverError ?? e.cause) as typeof e;
  }
  return undefined;
}

/**
 * Runs `work` (one whole transaction) again when PostgreSQL rolled it back as a deadlock's victim or
 * a serialisation failure: nothing of it was stored, so running it again is safe. At most `attempts`
 * runs, with a short random pause between them (the two parties do not meet again in step).
 */
export async function retryTransient<T>(
  work: () => Promise<T>,
  opts: { attempts?: number; onRetry?: (attempt: number, code: string) => void } = {},
): Promise<T> {
  const attempts = opts.attempts ?? 4;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      const code = transientSqlState(err);
      if (!code || attempt >= attempts) throw err;
      opts.onRetry?.(attempt, code);
      await new Promise((r) => setTimeout(r, 50 * attempt + Math.floor(Math.random() * 100)));
    }
  }
}
