/**
 * Every pattern the portal checks form input with, in one place, so that one test can time each
 * on pathological input of the longest length a form field may have (MAX_FORM_FIELD). Each is
 * linear-time: anchored, and no two quantified parts can match the same characters (the old email
 * pattern `^[^\s@]+@[^\s@]+\.[^\s@]+$` let the domain and its last label share characters, so
 * `a@` + 80,000 dots + `@` took 7 s of the event loop before any throttle).
 */
export const PATTERNS = {
  /** name@domain.tld: labels of the domain cannot contain dots, so each dot has one place. */
  email: /^[^\s@]+@[^\s@.]+(?:\.[^\s@.]+)+$/,
  isoDate: /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/,
  odsCode: /^[A-Z]\d{5}$/,
  postcodeArea: /^[A-Z]{1,2}$/,
  clinicalCode: /^[A-Za-z0-9.]{1,20}$/,
  age: /^\d{1,3}$/,
  durationMonths: /^\d{1,2}$/,
  uuid: /^[0-9a-f-]{36}$/i,
  /** Same-site path (no `//host`, no `/\host`), for the destination after sign-in. */
  sitePath: /^\/(?![/\\])[^\s]*$/,
} as const;

/** Longest value one form field may carry (a bid's purpose is at most 20,000 characters). */
export const MAX_FORM_FIELD = 20_000;
/** Most fields (and repeated values) one form may carry. */
export const MAX_FORM_VALUES = 500;
/** Longest email address (RFC 5321). */
export const MAX_EMAIL = 254;
