/**
 * What the server itself demands of an access token, beyond the signature, issuer, audience and
 * `exp` that jsonwebtoken checks (an outside probe, findings 1 and 2 of docs/SECURITY.md's table):
 * one way to present it and a lifetime bounded by the configured TTL, whoever signed it.
 */

/**
 * The only Authorization header taken: `Bearer <token>`, the scheme in any case, one or more
 * spaces, then one token of JWT characters and nothing after it. passport-jwt's own extractors
 * (`fromAuthHeaderAsBearerToken`, `fromAuthHeaderWithScheme`) match `(\S+)\s+(\S+)` anywhere in
 * the value, so `Bearer <token> extra` was taken as `<token>`; none of its options anchors it.
 */
const BEARER = /^Bearer +([A-Za-z0-9._-]{1,4096})$/i;

/** The token of an Authorization header of exactly that form; null for anything else. */
export function bearerToken(header: unknown): string | null {
  return typeof header === 'string' ? (BEARER.exec(header)?.[1] ?? null) : null;
}

/** An extractor for passport-jwt: a header that is not exactly `Bearer <token>` gives no token (401). */
export const fromExactBearerHeader = (req: { headers?: Record<string, unknown> }): string | null =>
  bearerToken(req.headers?.authorization);

/** How far ahead of this server's clock a token's `iat` may be (another process's clock). */
export const CLOCK_SKEW_SECONDS = 60;

/**
 * Why a verified token's times are not acceptable, or undefined when they are: `iat` and `exp` must
 * be numbers, `iat` no later than now plus the skew, and `exp − iat` no longer than the configured
 * access-token TTL. Every token the service issues has `exp = iat + TTL` (jsonwebtoken's `expiresIn`).
 * A token signed with the real key but by something else (a tool, a leaked key) cannot live longer.
 */
export function accessTokenTimesProblem(
  claims: { iat?: unknown; exp?: unknown },
  ttlSeconds: number,
  nowSeconds = Date.now() / 1000,
): string | undefined {
  const { iat, exp } = claims;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return 'exp missing';
  if (typeof iat !== 'number' || !Number.isFinite(iat)) return 'iat missing';
  if (iat > nowSeconds + CLOCK_SKEW_SECONDS) return 'iat in the future';
  if (exp - iat > ttlSeconds) return 'lifetime longer than the access-token TTL';
  return undefined;
}
