import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The portal's session, kept whole in one encrypted cookie (AES-256-GCM, key derived from the JWT
 * secret with HKDF): the browser holds it but can neither read nor alter it, and the API tokens
 * never reach page scripts (HttpOnly). `csrf` is the synchroniser token every form carries.
 */
export interface PortalSession {
  /** Synchroniser token for forms (anonymous sessions have one too, for the sign-in form). */
  csrf: string;
  /** Absolute end of the session (epoch seconds); refreshed tokens never extend it past this. */
  exp: number;
  auth?: {
    accessToken: string;
    refreshToken: string;
    /** When the access token expires (epoch seconds). */
    accessExp: number;
    user: { id: string; email: string; roles: string[]; organisationId: string | null };
  };
  /** A one-time message shown on the next page (e.g. "Request submitted"). */
  /** `field`: the id of the input an error is about (its error summary links there). */
  flash?: { title: string; body?: string; kind?: 'error' | 'warning'; field?: string };
}

export const SESSION_COOKIE = 'custodian_portal';
const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A 256-bit key for the cookie, independent of the JWT signing key although derived from the same secret. */
export function deriveSessionKey(secret: string): Buffer {
  return Buffer.from(
    hkdfSync('sha256', Buffer.from(secret, 'utf8'), 'custodian-portal', 'portal session cookie v1', 32),
  );
}

export function sealSession(key: Buffer, session: PortalSession): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(VERSION));
  const body = Buffer.concat([cipher.update(JSON.stringify(session), 'utf8'), cipher.final()]);
  return `${VERSION}.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')}`;
}

/** The session, or undefined when the cookie is missing, forged, altered, truncated or expired. */
export function openSession(
  key: Buffer,
  sealed: string | undefined,
  now = Date.now(),
): PortalSession | undefined {
  if (!sealed || !sealed.startsWith(`${VERSION}.`) || sealed.length > 8192) return undefined;
  const raw = Buffer.from(sealed.slice(VERSION.length + 1), 'base64url');
  if (raw.length < IV_BYTES + TAG_BYTES + 2) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(VERSION));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    const json = Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
    const session = JSON.parse(json.toString('utf8')) as PortalSession;
    if (typeof session?.csrf !== 'string' || typeof session.exp !== 'number') return undefined;
    if (session.exp * 1000 <= now) return undefined;
    return session;
  } catch {
    return undefined;
  }
}

export function newCsrfToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Constant-time comparison of the form's token with the session's. */
export function csrfMatches(session: PortalSession | undefined, presented: unknown): boolean {
  if (!session || typeof presented !== 'string') return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i < 1) continue;
    const name = part.slice(0, i).trim();
    if (!(name in out)) out[name] = part.slice(i + 1).trim();
  }
  return out;
}

/** Secure, HttpOnly, SameSite=Strict, whole site; a browser-session cookie (no Max-Age) unless cleared. */
export function sessionCookieHeader(value: string | null): string {
  const attrs = ['Path=/', 'HttpOnly', 'Secure', 'SameSite=Strict'];
  if (value === null) return [`${SESSION_COOKIE}=`, ...attrs, 'Max-Age=0'].join('; ');
  return [`${SESSION_COOKIE}=${value}`, ...attrs].join('; ');
}
