import { accessTokenTimesProblem, bearerToken, CLOCK_SKEW_SECONDS } from './access-token';

describe('bearerToken', () => {
  it('takes exactly "Bearer <token>", the scheme in any case, one or more spaces', () => {
    expect(bearerToken('Bearer a.b.c')).toBe('a.b.c');
    expect(bearerToken('bearer a.b-c_d')).toBe('a.b-c_d');
    expect(bearerToken('BEARER    a.b.c')).toBe('a.b.c');
  });

  it.each([
    ['trailing junk', 'Bearer a.b.c extra'],
    ['two tokens', 'Bearer a.b.c a.b.c'],
    ['a tab', 'Bearer\ta.b.c'],
    ['no space', 'Bearera.b.c'],
    ['another scheme', 'Basic a.b.c'],
    ['a word before', 'junk Bearer a.b.c'],
    ['a leading space', ' Bearer a.b.c'],
    ['no token', 'Bearer '],
    ['characters outside a JWT', 'Bearer a.b.c,d'],
    ['a token too long', `Bearer ${'a'.repeat(4097)}`],
  ])('refuses %s', (_name, header) => {
    expect(bearerToken(header)).toBeNull();
  });

  it('refuses a header that is not a string', () => {
    expect(bearerToken(undefined)).toBeNull();
    expect(bearerToken(['Bearer a.b.c'])).toBeNull();
  });
});

describe('accessTokenTimesProblem', () => {
  const now = 1_800_000_000;
  const ttl = 900;

  it('accepts what the service issues (exp = iat + TTL), and a small clock skew', () => {
    expect(accessTokenTimesProblem({ iat: now, exp: now + ttl }, ttl, now)).toBeUndefined();
    expect(accessTokenTimesProblem({ iat: now - 899, exp: now + 1 }, ttl, now)).toBeUndefined();
    expect(
      accessTokenTimesProblem(
        { iat: now + CLOCK_SKEW_SECONDS, exp: now + CLOCK_SKEW_SECONDS + ttl },
        ttl,
        now,
      ),
    ).toBeUndefined();
  });

  it.each([
    ['exp far away', { iat: now, exp: 1e308 }],
    ['a lifetime one second past the TTL', { iat: now, exp: now + ttl + 1 }],
    ['iat past the skew', { iat: now + CLOCK_SKEW_SECONDS + 1, exp: now + CLOCK_SKEW_SECONDS + 1 + ttl }],
    ['iat a year ahead', { iat: now + 365 * 86_400, exp: now + 365 * 86_400 + 600 }],
    ['no iat', { exp: now + 600 }],
    ['iat a string', { iat: String(now), exp: now + 600 }],
    ['iat not finite', { iat: -Infinity, exp: now + 600 }],
    ['no exp', { iat: now }],
  ])('refuses %s', (_name, claims) => {
    expect(accessTokenTimesProblem(claims, ttl, now)).toEqual(expect.any(String));
  });
});
