import type { QueryRunner } from 'typeorm';

/** The key, on a query runner's `data`, of a transaction that is not the request's own change. */
const NOT_THE_REQUESTS_CHANGE = 'notTheRequestsChange';

/**
 * Marks the transaction of `runner` as not the change the HTTP request asked for (the record of its
 * refusal, say): committing it does not count as the request having committed something, for its
 * Idempotency-Key (apps/api/src/idempotency.ts).
 */
export function markNotTheRequestsChange(runner: QueryRunner | undefined): void {
  if (runner) runner.data = { ...runner.data, [NOT_THE_REQUESTS_CHANGE]: true };
}

/** Whether `markNotTheRequestsChange` marked the transaction of `runner`. */
export function isNotTheRequestsChange(runner: QueryRunner | undefined): boolean {
  return runner?.data?.[NOT_THE_REQUESTS_CHANGE] === true;
}
