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
 * Most properties one object of a JSON request body may have, and most objects and arrays in all:
 * the widest body (a bid) has a dozen properties and a dozen objects. class-transformer copies an
 * object onto its DTO in time quadratic in its keys, and every element of an array of DTOs became
 * a DTO validated with its own errors, on the event loop: 80,000 unknown keys held the whole API
 * 10-16 s, and 250,000 empty objects as a bid's datasets ran it out of heap (probe 32).
 */
export const MAX_JSON_KEYS = 100;
export const MAX_JSON_CONTAINERS = 1_000;
/**
 * Most values in all (array elements included): the largest body, a cohort of 10,000 practices and
 * 10,000 codes, has about 20,250. An array of 300,000 numbers under an unknown key held the event
 * loop 1.5-3 s per anonymous sign-in (probe 32).
 */
export const MAX_JSON_VALUES = 25_000;

/**
 * The most properties any object of a parsed JSON value has, how many objects and arrays it holds,
 * and how many values in all (itself included). Recursive: call it on a value `jsonDepth` has bounded.
 */
export function jsonShape(value: unknown): { widest: number; containers: number; values: number } {
  if (value === null || typeof value !== 'object') return { widest: 0, containers: 0, values: 1 };
  const values = Array.isArray(value) ? (value as unknown[]) : Object.values(value);
  const shape = { widest: Array.isArray(value) ? 0 : values.length, containers: 1, values: 1 };
  for (const v of values) {
    const inner = jsonShape(v);
    shape.widest = Math.max(shape.widest, inner.widest);
    shape.containers += inner.containers;
    shape.values += inner.values;
  }
  return shape;
}
