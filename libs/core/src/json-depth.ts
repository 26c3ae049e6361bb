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
