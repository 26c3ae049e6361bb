/**
 * Sign-in limits. A hard lock on the account after a few failures lets anyone lock its owner out
 * (five wrong passwords from anywhere, every fifteen minutes); the limits are therefore per
 * (account, address), with delays that grow, plus ceilings high enough that only an attack reaches
 * them:
 *
 * - after `pairFree` failures on one account from one address, that address waits 1 s, 2 s, 4 s …
 *   (at most `pairMaxDelaySeconds`) after each further failure before it may try that account again;
 * - one address: `perAddress` failures in the window across accounts (credential stuffing);
 * - one account: `perAccount` failures in the window across addresses (distributed guessing).
 */
export const LOGIN_LIMITS = {
  windowMinutes: 15,
  pairFree: 5,
  pairMaxDelaySeconds: 300,
  perAddress: 20,
  perAccount: 100,
} as const;

export interface FailureCounts {
  /** Failures in the window on this account, from any address. */
  account: number;
  /** Failures in the window from this address, on any account. */
  address: number;
  /** Failures in the window on this account from this address. */
  pair: number;
  /** Seconds since the last of those `pair` failures (null when none). */
  sinceLastPair: number | null;
}

/** Seconds the caller must still wait before this attempt may be checked; 0: go ahead. */
export function loginWait(c: FailureCounts, limits: typeof LOGIN_LIMITS = LOGIN_LIMITS): number {
  const window = limits.windowMinutes * 60;
  if (c.account >= limits.perAccount || c.address >= limits.perAddress) return window;
  if (c.pair < limits.pairFree || c.sinceLastPair === null) return 0;
  const delay = Math.min(2 ** (c.pair - limits.pairFree), limits.pairMaxDelaySeconds);
  return c.sinceLastPair >= delay ? 0 : Math.max(1, Math.ceil(delay - c.sinceLastPair));
}
