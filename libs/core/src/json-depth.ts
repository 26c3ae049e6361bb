/** Deepest nesting of objects/arrays a JSON request body may have (the DTOs need at most 4). */
export const MAX_JSON_DEPTH = 32;

/**
 * The nesting depth of JSON text, read in one pass without parsing (strings skipped), so that a
 * body like `[[[[…]]]]` a hundred thousand levels deep is refused before any recursive code
 * (parser, class-transformer, class-validator) can overflow the stack.
 */
export function jsonDepth(text: string, stopAbove = Infinity): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > max) {
        max = depth;
        if (max > stopAbove) return max;
      }
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
  return max;
}

/** A UTF-16 surrogate not in a pair (`u` mode reads a well-formed pair as one code point). */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Whether a parsed JSON value holds a string (a key or a value) with a lone surrogate, which JSON
 * may spell as an escape (`"\ud800"`) but which is not Unicode text: I-JSON (RFC 7493 §2.1) refuses
 * it, UTF-8 cannot write it, and validator's `isEmail` threw on it (a 500 on sign-in, probe 32).
 * Recursive: call it on a value `jsonDepth` has bounded.
 */
export function hasLoneSurrogate(value: unknown): boolean {
  if (typeof value === 'string') return LONE_SURROGATE.test(value);
  if (Array.isArray(value)) return value.some(hasLoneSurrogate);
  if (value !== null && typeof value === 'object')
    return Object.entries(value).some(([k, v]) => LONE_SURROGATE.test(k) || hasLoneSurrogate(v));
  return false;
}

/**
 * Most properties one object of a JSON request body may have: the widest body (a bid) has a dozen.
 * class-transformer copies an object onto its DTO in time quadratic in its keys, on the event loop:
 * 80,000 unknown keys in a 1 MiB body held the whole API for 10–16 s (probe 32).
 */
export const MAX_JSON_KEYS = 100;

/** The most properties any object of a parsed JSON value has (recursive: call it on a value `jsonDepth` has bounded). */
export function widestObject(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((m: number, v) => Math.max(m, widestObject(v)), 0);
  if (value === null || typeof value !== 'object') return 0;
  const values = Object.values(value);
  return values.reduce((m: number, v) => Math.max(m, widestObject(v)), values.length);
}
