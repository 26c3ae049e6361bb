import type { Client } from 'pg';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until at least `n` other sessions of the test database wait on a lock (or `timeoutMs` has
 * passed), and returns how many do: the tests that force an interleaving with a row lock they hold.
 */
export async function waitForLockWaiters(sql: Client, n: number, timeoutMs = 30_000): Promise<number> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await sql.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
    );
    if (rows[0].n >= n || Date.now() > until) return rows[0].n;
    await sleep(50);
  }
}
