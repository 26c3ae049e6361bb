import { LOGIN_LIMITS, loginWait } from './login-throttle';

const counts = (pair: number, sinceLastPair: number | null, account = pair, address = pair) => ({
  account,
  address,
  pair,
  sinceLastPair,
});

describe('loginWait', () => {
  it('lets the first five failures of an account from an address through', () => {
    for (let pair = 0; pair < LOGIN_LIMITS.pairFree; pair++) expect(loginWait(counts(pair, 0))).toBe(0);
  });

  it('then doubles the delay after each failure, up to the cap', () => {
    expect(loginWait(counts(5, 0))).toBe(1);
    expect(loginWait(counts(5, 1))).toBe(0);
    expect(loginWait(counts(6, 0.5))).toBe(2);
    expect(loginWait(counts(7, 1))).toBe(3);
    expect(loginWait(counts(8, 8))).toBe(0);
    expect(loginWait(counts(19, 0, 19, 19))).toBe(LOGIN_LIMITS.pairMaxDelaySeconds);
  });

  it('closes an address after its ceiling across accounts, and an account after its ceiling across addresses', () => {
    expect(loginWait(counts(0, null, 0, LOGIN_LIMITS.perAddress))).toBe(LOGIN_LIMITS.windowMinutes * 60);
    expect(loginWait(counts(0, null, LOGIN_LIMITS.perAccount, 0))).toBe(LOGIN_LIMITS.windowMinutes * 60);
    expect(loginWait(counts(0, null, LOGIN_LIMITS.perAccount - 1, LOGIN_LIMITS.perAddress - 1))).toBe(0);
  });
});
